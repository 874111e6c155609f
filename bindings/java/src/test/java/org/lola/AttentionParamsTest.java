// AttentionParamsTest.java: the one attention builder of LayerParams and ContextParams, its
// defaults, resolve(), the copies the params take, and the enums against the generated ones.
package org.lola;

import static org.junit.jupiter.api.Assertions.*;

import java.util.EnumSet;
import java.util.Set;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.lola.swig.lola_attention;
import org.lola.swig.lola_device;
import org.lola.swig.lola_feature_map;
import org.lola.swig.lola_memory;
import org.lola.swig.lola_mixing;
import org.lola.swig.lola_scoring;
import org.lola.swig.lolaConstants;

class AttentionParamsTest {
    static LayerParams layer(AttentionParams a) {
        return LayerParams.builder().nHeads(2).nKvHeads(1).headDim(4).attention(a).build();
    }

    @Test
    void defaultsComeFromTheLibrary() {
        AttentionParams a = new AttentionParams();
        assertEquals(Attention.LOLA, a.attention());
        assertEquals(AttentionParams.MODEL_DEFAULT, a.chunkSize());
        assertEquals(AttentionParams.MODEL_DEFAULT, a.sparseCapacity());
        assertEquals(-1, AttentionParams.MODEL_DEFAULT);
        assertEquals(FeatureMap.AUTO, a.featureMap());
        assertEquals(0, a.featureDim());
        assertEquals(Mixing.MODEL_DEFAULT, a.mixing());
        assertEquals(Scoring.SRE, a.scoring());
        assertFalse(a.performerOrthogonal());
        assertEquals(0x4C6F4C41L, a.seed());
        assertEquals(1e-6f, a.eps());
    }

    @Test
    void resolveForALayerAndForAModel() {
        AttentionParams a = new AttentionParams().sparseCapacity(5).scoring(Scoring.RECENCY);
        AttentionParams r = a.resolve(null);
        assertEquals(64, r.chunkSize(), "the library's chunk size");
        assertEquals(5, r.sparseCapacity(), "a set field is kept");
        assertEquals(Mixing.LOLA, r.mixing());
        assertEquals(Scoring.RECENCY, r.scoring());
        assertEquals(AttentionParams.MODEL_DEFAULT, a.chunkSize(), "resolve returns a copy");
        Model m = Model.load(TestModel.path());
        try {
            AttentionParams rm = new AttentionParams().resolve(m);
            assertTrue(rm.chunkSize() >= 1, "chunk " + rm.chunkSize());
            assertTrue(rm.sparseCapacity() >= 0, "sparse " + rm.sparseCapacity());
            assertNotEquals(Mixing.MODEL_DEFAULT, rm.mixing());
            // a context made with the resolved values equals one made with the defaults
            int[] prompt = {1, 5, 9, 2, 7, 3, 8, 4, 6, 1, 2};
            try (Context d = m.newContext(ContextParams.defaults());
                 Context e = m.newContext(ContextParams.builder().attention(rm).build())) {
                d.feed(prompt);
                e.feed(prompt);
                assertArrayEquals(d.logits(), e.logits());
                assertArrayEquals(d.saveState(), e.saveState());
            }
        } finally {
            m.close();
        }
        LolaException ex = assertThrows(LolaException.class, () -> new AttentionParams().resolve(m));
        assertEquals(Status.NULL_HANDLE, ex.status(), "a closed model");
    }

    @Test
    void perLayerKindsMakeAHybrid() {
        try (Model m = Model.load(TestModel.path())) {
            int n = m.info().nLayer();
            int[] tokens = {1, 5, 9, 2, 7, 3, 8, 4, 6, 1, 2, 9, 4, 4, 7, 1};
            AttentionParams small = new AttentionParams().chunkSize(4).sparseCapacity(3);
            Attention[] kinds = new Attention[n];
            kinds[0] = Attention.FULL;
            try (Context h = m.newContext(ContextParams.builder().attention(small).layerAttention(kinds).build())) {
                h.feed(tokens);
                assertEquals(tokens.length, h.positions(0, 0, Memory.WINDOW).length, "the full layer keeps every token");
                assertEquals(3, h.positions(1, 0, Memory.SPARSE).length, "layer 1 is LoLA");
            }
            Attention[] allFull = new Attention[n];
            java.util.Arrays.fill(allFull, Attention.FULL);
            try (Context a = m.newContext(ContextParams.builder().attention(small).layerAttention(allFull).build());
                 Context b = m.newContext(ContextParams.builder()
                         .attention(new AttentionParams().chunkSize(4).sparseCapacity(3).attention(Attention.FULL)).build())) {
                a.feed(tokens);
                b.feed(tokens);
                assertArrayEquals(b.logits(), a.logits());
            }
            LolaException e = assertThrows(LolaException.class,
                    () -> m.newContext(ContextParams.builder().layerAttention(Attention.FULL).build()));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("n_layer_attention is 1"), e.getMessage());
        }
    }

    @Test
    void oneBuilderReachesTheLayer() {
        AttentionParams a = new AttentionParams().attention(Attention.LOLA).chunkSize(4).sparseCapacity(3);
        LayerParams p = layer(a);
        a.chunkSize(8).attention(Attention.FULL); // after build: changes nothing in p
        try (Layer l = new Layer(p)) {
            LayerInfo i = l.info();
            assertEquals(4, i.chunkSize());
            assertEquals(3, i.sparseCapacity());
            assertEquals(lola_attention.LOLA_ATTENTION_LOLA.swigValue(), i.attention());
        }
        try (Layer l = new Layer(layer(a))) {
            assertEquals(8, l.info().chunkSize());
            assertEquals(Attention.FULL.code(), l.info().attention());
        }
        try (Layer l = new Layer(layer(null))) {
            assertEquals(64, l.info().chunkSize(), "no attention settings: every default");
            assertEquals(64, l.info().sparseCapacity());
        }
        assertEquals(4, p.attention().chunkSize());
        p.attention().chunkSize(99);
        assertEquals(4, p.attention().chunkSize(), "attention() returns a copy");
        LolaException e = assertThrows(LolaException.class,
                () -> new Layer(layer(new AttentionParams().chunkSize(0))));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
    }

    @Test
    void oneBuilderReachesTheContext() {
        try (Model m = Model.load(TestModel.path())) {
            LolaException e = assertThrows(LolaException.class, () -> m.newContext(
                    ContextParams.builder().attention(new AttentionParams().featureMap(FeatureMap.PRECOMPUTED)).build()));
            assertEquals(Status.INVALID_ARGUMENT, e.status(), e.getMessage());
            e = assertThrows(LolaException.class, () -> m.newContext(
                    ContextParams.builder().attention(new AttentionParams().mixing(Mixing.LOLA).chunkSize(-5)).build()));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            // different settings give a different state; the same settings the same state
            int[] prompt = {1, 5, 9, 2, 7, 3, 8, 4, 6, 1, 2};
            AttentionParams a = new AttentionParams().chunkSize(4).sparseCapacity(2);
            ContextParams p = ContextParams.builder().attention(a).build();
            a.attention(Attention.FULL);
            try (Context c1 = m.newContext(p);
                 Context c2 = m.newContext(TestModel.lolaParams());
                 Context full = m.newContext(ContextParams.builder().attention(a).build())) {
                c1.feed(prompt);
                c2.feed(prompt);
                full.feed(prompt);
                assertArrayEquals(c1.saveState(), c2.saveState(), "p kept its copy of a");
                assertEquals(prompt.length, full.info().nWindow() / (full.info().nLayer() * m.info().nHead()),
                        "full attention keeps every token in the window");
                assertTrue(c1.info().nFolded() > 0, "LoLA folds the oldest tokens");
            }
        }
    }

    /** Each C enum value (read from lola.h by SWIG) has its constant, with the same value. */
    static <E extends Enum<E>> void covers(Class<E> javaEnum, int[] cValues, IntFunction<E> fromCode, int sentinels) {
        Set<E> seen = EnumSet.noneOf(javaEnum);
        for (int v : cValues) seen.add(fromCode.apply(v));
        assertEquals(cValues.length, seen.size());
        assertEquals(cValues.length + sentinels, javaEnum.getEnumConstants().length,
                javaEnum.getSimpleName() + " has a constant lola.h does not");
    }

    @Test
    void enumsMatchTheHeader() {
        covers(Attention.class, java.util.Arrays.stream(lola_attention.values()).mapToInt(lola_attention::swigValue).toArray(),
                Attention::fromCode, 0);
        covers(FeatureMap.class, java.util.Arrays.stream(lola_feature_map.values()).mapToInt(lola_feature_map::swigValue).toArray(),
                FeatureMap::fromCode, 1);
        assertEquals(lolaConstants.LOLA_FEATURE_MAP_AUTO, FeatureMap.AUTO.code());
        covers(Mixing.class, java.util.Arrays.stream(lola_mixing.values()).mapToInt(lola_mixing::swigValue).toArray(),
                Mixing::fromCode, 1);
        assertEquals(lolaConstants.LOLA_MODEL_DEFAULT, Mixing.MODEL_DEFAULT.code());
        covers(Scoring.class, java.util.Arrays.stream(lola_scoring.values()).mapToInt(lola_scoring::swigValue).toArray(),
                Scoring::fromCode, 0);
        covers(Device.class, java.util.Arrays.stream(lola_device.values()).mapToInt(lola_device::swigValue).toArray(),
                Device::fromCode, 0);
        covers(Memory.class, java.util.Arrays.stream(lola_memory.values()).mapToInt(lola_memory::swigValue).toArray(),
                Memory::fromCode, 0);
        assertThrows(IllegalArgumentException.class, () -> Scoring.fromCode(99));
    }
}
