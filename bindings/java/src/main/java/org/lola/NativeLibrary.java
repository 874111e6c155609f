// NativeLibrary.java: loads liblola and liblolajni (from the jar, else java.library.path) and
// checks that liblola's ABI is the one this binding was generated for.
package org.lola;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import org.lola.swig.lola;
import org.lola.swig.lolaConstants;

/**
 * Loads the native libraries once per class loader. The jar carries them under
 * {@code native/<os>-<arch>/}; they are copied to a fresh temporary directory, loaded with
 * {@link System#load} (liblola first, so liblolajni finds it by its SONAME), and deleted (a
 * loaded library stays mapped). When the jar has none for this platform, {@link
 * System#loadLibrary} looks in {@code java.library.path}. Public only because the generated
 * package {@code org.lola.swig} calls it; not part of the API.
 */
public final class NativeLibrary {
    /** SONAME of liblola (liblola.so.ABI) and the JNI module, in load order. */
    static final String[] LIBRARIES = {"liblola.so." + lolaConstants.LOLA_ABI_VERSION, "liblolajni.so"};

    private static boolean loaded;

    private NativeLibrary() {}

    /** Loads both libraries and checks the ABI; idempotent and thread-safe. */
    public static synchronized void load() {
        if (loaded) return;
        String dir = "native/" + platform() + "/";
        if (NativeLibrary.class.getClassLoader().getResource(dir + LIBRARIES[1]) != null) {
            loadFromJar(dir);
        } else {
            try {
                System.loadLibrary("lola");
            } catch (UnsatisfiedLinkError e) {
                // liblolajni's own dependency lookup (RPATH, LD_LIBRARY_PATH) may still find it.
            }
            System.loadLibrary("lolajni");
        }
        loaded = true;
        checkAbi(lolaConstants.LOLA_ABI_VERSION, lola.lola_abi_version());
    }

    /** Throws when the liblola that was loaded has another ABI than the binding's header. */
    static void checkAbi(int compiled, int runtime) {
        if (compiled != runtime) {
            throw new UnsatisfiedLinkError("liblola ABI mismatch: this Java binding was built for "
                    + "LOLA_ABI_VERSION " + compiled + " but the loaded liblola reports "
                    + runtime + " (lola_abi_version()); use the jar built with that liblola");
        }
    }

    /** "linux-x86_64", "linux-aarch64", ...: the folder of this platform's libraries in the jar. */
    static String platform() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) os = "linux";
        else if (os.startsWith("mac")) os = "macos";
        else if (os.startsWith("windows")) os = "windows";
        if (arch.equals("amd64") || arch.equals("x86-64")) arch = "x86_64";
        else if (arch.equals("arm64")) arch = "aarch64";
        return os + "-" + arch;
    }

    private static void loadFromJar(String dir) {
        Path tmp = null;
        try {
            tmp = Files.createTempDirectory("lola-native");
            for (String name : LIBRARIES) {
                Path file = tmp.resolve(name);
                try (InputStream in = NativeLibrary.class.getClassLoader().getResourceAsStream(dir + name)) {
                    if (in == null) throw new UnsatisfiedLinkError("the jar lacks " + dir + name);
                    Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                }
                try {
                    System.load(file.toAbsolutePath().toString());
                } catch (UnsatisfiedLinkError e) {
                    UnsatisfiedLinkError err = new UnsatisfiedLinkError("cannot load " + name
                            + " extracted from the jar into " + tmp + ": " + e.getMessage()
                            + " (a temporary folder mounted noexec? point -Djava.io.tmpdir at another)");
                    err.initCause(e);
                    throw err;
                }
            }
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("cannot extract liblola from the jar: " + e);
            err.initCause(e);
            throw err;
        } finally {
            deleteQuietly(tmp);
        }
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) return;
        for (String name : LIBRARIES) {
            try {
                Files.deleteIfExists(dir.resolve(name));
            } catch (IOException e) {
                dir.resolve(name).toFile().deleteOnExit();
            }
        }
        try {
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            dir.toFile().deleteOnExit();
        }
    }
}
