package io.flume;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads libflume_java (the JNI library, with libflume linked in) once per class loader: from
 * the jar when it carries one for this platform (extracted to a temporary file, since a JVM loads
 * native code only from a file), otherwise from {@code java.library.path}. Setting the system
 * property {@code flume.library.path} to a file loads that file instead of either.
 */
final class NativeLibrary {
  private static final String NAME = "flume_java";
  private static boolean loaded;

  private NativeLibrary() {}

  static synchronized void load() {
    if (loaded) return;
    String explicit = System.getProperty("flume.library.path");
    if (explicit != null && !explicit.isEmpty()) {
      System.load(Path.of(explicit).toAbsolutePath().toString());
    } else if (!loadFromJar()) {
      System.loadLibrary(NAME);
    }
    loaded = true;
  }

  /** The jar's resource directory for this platform, e.g. {@code native/linux-x86_64}. */
  static String platform() {
    String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
    if (arch.equals("amd64")) arch = "x86_64";
    if (arch.equals("arm64")) arch = "aarch64";
    return (os.contains("linux") ? "linux" : os.replaceAll("[^a-z0-9]", "")) + "-" + arch;
  }

  private static boolean loadFromJar() {
    String resource = "/io/flume/native/" + platform() + "/" + System.mapLibraryName(NAME);
    try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
      if (in == null) return false;
      Path file = Files.createTempFile("libflume_java-", ".so");
      // Deleted at exit; on Linux it could go at once after loading, but not on every platform.
      file.toFile().deleteOnExit();
      Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
      System.load(file.toAbsolutePath().toString());
      return true;
    } catch (IOException e) {
      throw new UnsatisfiedLinkError("cannot extract " + resource + ": " + e);
    }
  }
}
