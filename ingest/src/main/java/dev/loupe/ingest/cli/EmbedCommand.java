package dev.loupe.ingest.cli;

import dev.loupe.EmbedRequest;
import dev.loupe.LoupeEngine;
import dev.loupe.RetrievalInput;
import dev.loupe.ingest.BoundedSubmitter;
import dev.loupe.ingest.Documents;
import dev.loupe.ingest.ImageEmbeddings;
import dev.loupe.ingest.ImageFiles;
import dev.loupe.ImageInput;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "embed",
    description = {
      "Embed images and texts with a Qwen3-VL-Embedding checkpoint (--model): one JSON line per",
      "input, in input order, {\\\"path\\\" or \\\"text\\\", \\\"embedding\\\": [unit vector]}. Images use the model's",
      "default instruction, texts the query instruction the index search uses, unless --instruction."
    })
final class EmbedCommand implements Callable<Integer> {
  @Mixin ModelOptions model;

  @Option(names = "--text", description = "a text to embed (repeatable)")
  List<String> texts = new ArrayList<>();

  @Option(names = "--instruction", description = "instruction for every input instead of the defaults")
  String instruction;

  @Option(names = "--dimensions", defaultValue = "0", description = "leading dimensions to keep (Matryoshka), 0 = all (default: ${DEFAULT-VALUE})")
  int dimensions;

  @Parameters(arity = "0..*", paramLabel = "FILE|DIR", description = "images, or folders to walk for them")
  List<Path> inputs = new ArrayList<>();

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (texts.isEmpty() && inputs.isEmpty()) throw new IllegalArgumentException("nothing to embed: give images and/or --text");
    ImageFiles.Listing listing = inputs.isEmpty() ? null : ImageFiles.expand(inputs);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    int failed = 0;
    try (LoupeEngine engine = model.open()) {
      BoundedSubmitter submitter = new BoundedSubmitter(engine, model.window);
      List<Map.Entry<String, String>> keys = new ArrayList<>();  // ("path"|"text", value) per input
      List<CompletableFuture<float[]>> vectors = new ArrayList<>();
      for (String text : texts) {
        EmbedRequest request = request(RetrievalInput.text(text), ImageEmbeddings.QUERY_INSTRUCTION);
        keys.add(Map.entry("text", text));
        vectors.add(submitter.submit(() -> engine.embed(request)));
      }
      for (ImageFiles.ImageFile file : listing == null ? List.<ImageFiles.ImageFile>of() : listing.images()) {
        keys.add(Map.entry("path", file.path().toString()));
        try {
          EmbedRequest request = request(RetrievalInput.image(ImageInput.ofFile(file.path())), null);
          vectors.add(submitter.submit(() -> engine.embed(request)));
        } catch (RuntimeException e) {
          vectors.add(CompletableFuture.failedFuture(e));
        }
      }
      for (int i = 0; i < vectors.size(); i++) {
        try {
          Map<String, Object> line = new LinkedHashMap<>();
          float[] vector = vectors.get(i).join();
          line.put(keys.get(i).getKey(), keys.get(i).getValue());
          line.put("embedding", vector);
          out.println(Documents.line(line));
        } catch (CompletionException e) {
          failed++;
          err.println(keys.get(i).getValue() + ": " + e.getCause().getMessage());
        }
      }
      out.flush();
    }
    return ExitCodes.of(failed);
  }

  private EmbedRequest request(RetrievalInput input, String defaultInstruction) {
    return EmbedRequest.of(input).withInstruction(instruction != null ? instruction : defaultInstruction).withDimensions(dimensions);
  }
}
