// UnitTest.java: the pure-Java parts: the ABI check, the platform name, UTF-8 joining.
package org.lola;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.lola.swig.lola;
import org.lola.swig.lolaConstants;

class UnitTest {
    @Test
    void deviceCounts() {
        // The CPU is always there; CUDA counts what the driver reports (0 in CI).
        assertEquals(1, Device.CPU.count());
        assertTrue(Device.CUDA.count() >= 0);
    }

    @Test
    void abiCheck() {
        NativeLibrary.checkAbi(1, 1);
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class, () -> NativeLibrary.checkAbi(1, 2));
        assertTrue(e.getMessage().contains("LOLA_ABI_VERSION 1"), e.getMessage());
        assertTrue(e.getMessage().contains("reports 2"), e.getMessage());
        assertEquals(lolaConstants.LOLA_ABI_VERSION, lola.lola_abi_version());
        assertFalse(lola.lola_version().isEmpty());
    }

    @Test
    void platform() {
        if (System.getProperty("os.name").startsWith("Linux") && System.getProperty("os.arch").equals("amd64"))
            assertEquals("linux-x86_64", NativeLibrary.platform());
    }

    /** Every lola_status of lola.h (the generated enum, 0..LOLA_ERR_ABORTED today) has a Status
     *  of the same code and name, and Status has no other (but UNKNOWN): a status added to
     *  lola.h without a Status constant fails here. */
    @Test
    void statusCodes() {
        org.lola.swig.lola_status[] all = org.lola.swig.lola_status.values();
        for (int code = 0; code < all.length; code++) {
            org.lola.swig.lola_status c = org.lola.swig.lola_status.swigToEnum(code);
            Status s = Status.fromCode(c.swigValue());
            assertNotEquals(Status.UNKNOWN, s, lola.lola_status_string(c) + " has no Status");
            assertEquals(lola.lola_status_string(c), "LOLA_" + (s == Status.OK ? "OK" : "ERR_" + s.name()));
        }
        assertEquals(org.lola.swig.lola_status.LOLA_ERR_ABORTED.swigValue(), all.length - 1,
                "the codes are 0..LOLA_ERR_ABORTED without gaps");
        assertEquals(all.length + 1, Status.values().length, "Status has a constant lola.h does not");
        assertEquals(Status.UNKNOWN, Status.fromCode(99));
    }

    @Test
    void utf8SplitAcrossPieces() {
        byte[] text = "aé€😀b".getBytes(StandardCharsets.UTF_8);
        // every split of the bytes into single-byte pieces joins back to the text
        Utf8Joiner j = new Utf8Joiner();
        StringBuilder sb = new StringBuilder();
        for (byte b : text) {
            String s = j.push(new byte[] {b});
            assertFalse(s.contains("\uFFFD"), "no replacement mid-stream");
            sb.append(s);
        }
        sb.append(j.finish());
        assertEquals("aé€😀b", sb.toString());
        Utf8Joiner k = new Utf8Joiner();
        assertEquals("a", k.push(new byte[] {'a', (byte) 0xE2, (byte) 0x82}));
        assertEquals("\u20AC", k.push(new byte[] {(byte) 0xAC}));
        assertEquals("", k.push(new byte[] {(byte) 0xF0}));
        assertEquals("\uFFFD", k.finish(), "a stream ending inside a character");
    }
}
