package dev.loupe.ingest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/** Expands FILE|DIR arguments into image files (by extension), sorted for reproducible runs. */
public final class ImageFiles {
  private static final Set<String> EXTENSIONS = Set.of("jpg", "jpeg", "png", "webp", "gif", "bmp");

  private ImageFiles() {}

  public static boolean isImage(Path path) {
    String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
    int dot = name.lastIndexOf('.');
    return dot > 0 && EXTENSIONS.contains(name.substring(dot + 1));
  }

  public static List<Path> expand(List<Path> arguments) {
    List<Path> out = new ArrayList<>();
    for (Path argument : arguments) {
      if (Files.isDirectory(argument)) {
        try (Stream<Path> walk = Files.walk(argument)) {
          walk.filter(Files::isRegularFile).filter(ImageFiles::isImage).sorted().forEach(out::add);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot list " + argument, e);
        }
      } else if (Files.isRegularFile(argument)) {
        out.add(argument);
      } else {
        throw new IllegalArgumentException("no such file or directory: " + argument);
      }
    }
    return out;
  }
}
