package dev.loupe.elasticsearch.bench;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * Benchmark inputs: {@code count} distinct PNGs made from the images in a folder. Each copy
 * differs in one pixel, so neither path serves an image from the vision or prefix cache and
 * both do the full work per document.
 */
final class BenchImages {
  private BenchImages() {}

  static List<byte[]> distinct(Path folder, int count) throws IOException {
    List<BufferedImage> sources = new ArrayList<>();
    try (Stream<Path> files = Files.list(folder)) {
      for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
        BufferedImage image = ImageIO.read(file.toFile());  // null for what ImageIO cannot read (webp, json)
        if (image != null) {
          sources.add(image);
        }
      }
    }
    if (sources.isEmpty()) {
      throw new IllegalArgumentException("no images ImageIO can read in " + folder);
    }
    List<byte[]> images = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      BufferedImage source = sources.get(i % sources.size());
      BufferedImage copy = new BufferedImage(source.getWidth(), source.getHeight(), BufferedImage.TYPE_INT_RGB);
      copy.getGraphics().drawImage(source, 0, 0, null);
      copy.setRGB(0, 0, 0xFF000000 | (i * 40503) & 0xFFFFFF);  // a distinct corner pixel per copy
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ImageIO.write(copy, "png", out);
      images.add(out.toByteArray());
    }
    return images;
  }
}
