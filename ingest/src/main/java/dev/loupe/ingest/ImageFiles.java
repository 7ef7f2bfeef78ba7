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

/**
 * Expands FILE|DIR arguments into the images to caption, sorted within each folder for
 * reproducible runs, and the files of those folders that were passed over (named in the
 * run's summary rather than dropped silently).
 */
public final class ImageFiles {
  private static final Set<String> IMAGE_EXTENSIONS = Set.of("jpg", "jpeg", "png", "webp", "gif", "bmp");
  private static final Set<String> VIDEO_EXTENSIONS = Set.of("mp4", "m4v", "mov", "webm", "mkv", "avi", "mpg", "mpeg");
  /** What a video gets: the runtime takes frame lists, but no surface decodes video files yet. */
  public static final String VIDEO_UNSUPPORTED = "videos are not supported by `caption` yet";

  /**
   * One input image. {@code id} names it independently of the working directory: its path
   * relative to the folder argument it was found in, prefixed with that folder's name
   * ({@code photos/cats/1.jpg}), or the file name of a file argument.
   */
  public record ImageFile(Path path, String id, boolean video) {}

  /** The images to caption, in input order, and the folder entries passed over. */
  public record Listing(List<ImageFile> images, List<Path> skippedVideos, List<Path> skippedOther) {}

  private ImageFiles() {}

  public static boolean isImage(Path path) {
    return IMAGE_EXTENSIONS.contains(extension(path));
  }

  public static boolean isVideo(Path path) {
    return VIDEO_EXTENSIONS.contains(extension(path));
  }

  /**
   * Folders contribute their images and skip everything else; a file argument is always
   * kept (a video one then fails with {@link #VIDEO_UNSUPPORTED}, anything else is
   * decoded and fails with the decoder's reason if it is not an image).
   */
  public static Listing expand(List<Path> arguments) {
    List<ImageFile> images = new ArrayList<>();
    List<Path> videos = new ArrayList<>();
    List<Path> other = new ArrayList<>();
    for (Path argument : arguments) {
      if (Files.isDirectory(argument)) {
        Path root = argument.toAbsolutePath().normalize();
        String rootName = root.getFileName() == null ? "" : root.getFileName() + "/";
        try (Stream<Path> walk = Files.walk(argument)) {
          for (Path file : walk.filter(Files::isRegularFile).sorted().toList()) {
            if (isImage(file)) {
              String relative = root.relativize(file.toAbsolutePath().normalize()).toString().replace('\\', '/');
              images.add(new ImageFile(file, rootName + relative, false));
            } else if (isVideo(file)) {
              videos.add(file);
            } else {
              other.add(file);
            }
          }
        } catch (IOException e) {
          throw new UncheckedIOException("cannot list " + argument, e);
        }
      } else if (Files.isRegularFile(argument)) {
        images.add(new ImageFile(argument, argument.getFileName().toString(), isVideo(argument)));
      } else {
        throw new IllegalArgumentException("no such file or directory: " + argument);
      }
    }
    return new Listing(List.copyOf(images), List.copyOf(videos), List.copyOf(other));
  }

  private static String extension(Path path) {
    String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
    int dot = name.lastIndexOf('.');
    return dot > 0 ? name.substring(dot + 1) : "";
  }
}
