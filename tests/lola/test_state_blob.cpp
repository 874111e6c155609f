// test_state_blob.cpp: save -> restore -> continue equals continuing uninterrupted (for every
// attention kind and at awkward points); a truncated, bit-flipped, foreign or future-version
// blob is refused with the right status and the layer keeps its state.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>

#include "layer_check.hpp"
#include "capi_check.hpp"
#include "lola.h"

using namespace lola_test;

namespace {

LayerSpec params(int32_t attention = LOLA_ATTENTION_LOLA, int32_t map = LOLA_FEATURE_MAP_PERFORMER) {
    LayerSpec p;
    p.p.n_heads = 3;
    p.p.n_kv_heads = 1;
    p.p.head_dim = 12;
    p.a.chunk_size = 5;
    p.a.sparse_capacity = 4;
    p.a.attention = attention;
    p.a.feature_map = map;
    return p;
}

std::vector<float> random_floats(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0, 1);
    std::vector<float> out(n);
    for (float &x : out) x = d(rng);
    return out;
}

// Feeds tokens [t0, t1) of a deterministic sequence; returns their outputs.
std::vector<float> feed(lola_layer *l, const lola_test::LayerSpec &p, int t0, int t1) {
    const size_t qs = static_cast<size_t>(p.p.n_heads) * p.p.head_dim;
    const size_t ks = static_cast<size_t>(p.p.n_kv_heads) * p.p.head_dim;
    const std::vector<float> q = random_floats(200 * qs, 1), k = random_floats(200 * ks, 2),
                             v = random_floats(200 * ks, 3);
    const size_t n = static_cast<size_t>(t1 - t0);
    std::vector<float> y(n * qs);
    EXPECT_EQ(lola_layer_feed(l, t1 - t0, q.data() + t0 * qs, n * qs, k.data() + t0 * ks, n * ks,
                              v.data() + t0 * ks, n * ks, y.data(), y.size()),
              LOLA_OK)
        << lola_last_error_message();
    return y;
}


void rewrite_crc(std::vector<unsigned char> &blob) {
    const uint32_t crc = static_cast<uint32_t>(
        crc32(crc32(0L, Z_NULL, 0), blob.data(), static_cast<uInt>(blob.size() - 4)));
    std::memcpy(blob.data() + blob.size() - 4, &crc, 4);
}

TEST(StateBlob, RestoreThenContinueEqualsUninterrupted) {
    for (int32_t attention : {LOLA_ATTENTION_LOLA, LOLA_ATTENTION_FULL, LOLA_ATTENTION_WINDOW})
        for (int cut : {1, 4, 5, 13, 30, 57}) {
            SCOPED_TRACE("attention " + std::to_string(attention) + " cut " + std::to_string(cut));
            const LayerSpec p = params(attention);
            // uninterrupted: 0..cut, cut..120 on one layer; interrupted: 0..cut, save, restore
            // into a fresh layer, cut..120 there
            LayerPtr ref, first, second;
            ASSERT_EQ(lola_layer_create(&p.p, &first.p), LOLA_OK);
            ASSERT_EQ(lola_layer_create(&p.p, &second.p), LOLA_OK);
            ASSERT_EQ(lola_layer_create(&p.p, &ref.p), LOLA_OK);
            feed(ref.p, p, 0, cut);
            const std::vector<float> uninterrupted = feed(ref.p, p, cut, 120);
            feed(first.p, p, 0, cut);
            const std::vector<unsigned char> blob = save_blob(first.p);
            ASSERT_EQ(lola_layer_state_restore(second.p, blob.data(), blob.size()), LOLA_OK)
                << lola_last_error_message();
            EXPECT_EQ(feed(second.p, p, cut, 120), uninterrupted);
            EXPECT_TRUE(save_blob(second.p) == save_blob(ref.p));
        }
}

TEST(StateBlob, TruncatedBlobsAreRejected) {
    const LayerSpec p = params();
    LayerPtr src, dst;
    ASSERT_EQ(lola_layer_create(&p.p, &src.p), LOLA_OK);
    ASSERT_EQ(lola_layer_create(&p.p, &dst.p), LOLA_OK);
    feed(src.p, p, 0, 23);
    feed(dst.p, p, 0, 7);
    const std::vector<unsigned char> blob = save_blob(src.p), before = save_blob(dst.p);
    for (size_t n = 0; n < blob.size(); ++n) {
        const lola_status s = lola_layer_state_restore(dst.p, blob.data(), n);
        ASSERT_EQ(s, LOLA_ERR_CORRUPT_DATA) << "length " << n;
    }
    EXPECT_TRUE(save_blob(dst.p) == before);
    std::vector<unsigned char> longer = blob;
    longer.push_back(0);
    EXPECT_EQ(lola_layer_state_restore(dst.p, longer.data(), longer.size()), LOLA_ERR_CORRUPT_DATA);
    EXPECT_TRUE(save_blob(dst.p) == before);
}

TEST(StateBlob, EveryBitFlipIsRejected) {
    const LayerSpec p = params(LOLA_ATTENTION_LOLA, LOLA_FEATURE_MAP_ELU1);
    LayerPtr src, dst;
    ASSERT_EQ(lola_layer_create(&p.p, &src.p), LOLA_OK);
    ASSERT_EQ(lola_layer_create(&p.p, &dst.p), LOLA_OK);
    feed(src.p, p, 0, 17);
    const std::vector<unsigned char> blob = save_blob(src.p), before = save_blob(dst.p);
    for (size_t byte = 0; byte < blob.size(); ++byte)
        for (int bit = 0; bit < 8; ++bit) {
            std::vector<unsigned char> bad = blob;
            bad[byte] ^= static_cast<unsigned char>(1u << bit);
            const lola_status s = lola_layer_state_restore(dst.p, bad.data(), bad.size());
            ASSERT_NE(s, LOLA_OK) << "flip of byte " << byte << " bit " << bit << " accepted";
        }
    EXPECT_TRUE(save_blob(dst.p) == before);
    EXPECT_EQ(lola_layer_state_restore(dst.p, blob.data(), blob.size()), LOLA_OK);
}

TEST(StateBlob, ForeignAndFutureBlobs) {
    const LayerSpec p = params();
    LayerPtr src, dst;
    ASSERT_EQ(lola_layer_create(&p.p, &src.p), LOLA_OK);
    feed(src.p, p, 0, 12);
    const std::vector<unsigned char> blob = save_blob(src.p);

    LayerSpec other = params();
    other.a.sparse_capacity = 5;
    ASSERT_EQ(lola_layer_create(&other.p, &dst.p), LOLA_OK);
    EXPECT_EQ(lola_layer_state_restore(dst.p, blob.data(), blob.size()), LOLA_ERR_INCOMPATIBLE);
    EXPECT_NE(std::string(lola_last_error_message()).find("sparse_capacity"), std::string::npos);
    lola_layer_free(dst.p);

    other = params();
    other.a.seed = 99;  // same shapes, other performer projection
    ASSERT_EQ(lola_layer_create(&other.p, &dst.p), LOLA_OK);
    EXPECT_EQ(lola_layer_state_restore(dst.p, blob.data(), blob.size()), LOLA_ERR_INCOMPATIBLE);
    lola_layer_free(dst.p);

    ASSERT_EQ(lola_layer_create(&p.p, &dst.p), LOLA_OK);
    std::vector<unsigned char> future = blob;
    future[8] = 2;  // format version, with a valid checksum
    rewrite_crc(future);
    EXPECT_EQ(lola_layer_state_restore(dst.p, future.data(), future.size()), LOLA_ERR_VERSION_MISMATCH);
    std::vector<unsigned char> magic = blob;
    magic[0] = 'X';
    EXPECT_EQ(lola_layer_state_restore(dst.p, magic.data(), magic.size()), LOLA_ERR_CORRUPT_DATA);
    const char junk[] = "definitely not a blob, but long enough to hold a header of sixty bytes..";
    EXPECT_EQ(lola_layer_state_restore(dst.p, junk, sizeof junk), LOLA_ERR_CORRUPT_DATA);
    EXPECT_EQ(lola_layer_state_restore(dst.p, blob.data(), blob.size()), LOLA_OK);
}

TEST(StateBlob, InconsistentContentsWithValidChecksumAreRejected) {
    // A well-formed checksum does not make a blob trustworthy: counts are checked too.
    const LayerSpec p = params(LOLA_ATTENTION_LOLA, LOLA_FEATURE_MAP_ELU1);
    LayerPtr src, dst;
    ASSERT_EQ(lola_layer_create(&p.p, &src.p), LOLA_OK);
    ASSERT_EQ(lola_layer_create(&p.p, &dst.p), LOLA_OK);
    feed(src.p, p, 0, 17);
    const std::vector<unsigned char> blob = save_blob(src.p);
    const size_t n_tokens_offset = 8 + 4 + 4 + 8 + 8 + 4 + 8 * 4;
    std::vector<unsigned char> bad = blob;
    int64_t n_tokens;
    std::memcpy(&n_tokens, bad.data() + n_tokens_offset, 8);
    ASSERT_EQ(n_tokens, 17);
    n_tokens = 18;
    std::memcpy(bad.data() + n_tokens_offset, &n_tokens, 8);
    rewrite_crc(bad);
    EXPECT_EQ(lola_layer_state_restore(dst.p, bad.data(), bad.size()), LOLA_ERR_CORRUPT_DATA);
    // a NaN in the linear state H of the first head
    const float nan = std::numeric_limits<float>::quiet_NaN();
    bad = blob;
    const size_t first_head = n_tokens_offset + 8 + 4;
    const size_t h_offset = first_head + 4 + 8 + 8 + 4;
    std::memcpy(bad.data() + h_offset, &nan, 4);
    rewrite_crc(bad);
    EXPECT_EQ(lola_layer_state_restore(dst.p, bad.data(), bad.size()), LOLA_ERR_CORRUPT_DATA);
}

TEST(StateBlob, FullAttentionBlobClaimingEvictionsIsRejected) {
    // Full attention holds every position: a blob whose counters say a billion were evicted
    // (consistent with its n_tokens, with a valid checksum) would make the next feed size the
    // cache from that count. Found by fuzz_state_blob (tests/fuzz/corpus/fuzz_state_blob/
    // regress_full_attention_evictions).
    LayerSpec p = params(LOLA_ATTENTION_FULL, LOLA_FEATURE_MAP_ELU1);
    LayerPtr src, dst;
    ASSERT_EQ(lola_layer_create(&p.p, &src.p), LOLA_OK);
    ASSERT_EQ(lola_layer_create(&p.p, &dst.p), LOLA_OK);
    feed(src.p, p, 0, 7);
    std::vector<unsigned char> bad = save_blob(src.p);
    const size_t n_tokens_offset = 8 + 4 + 4 + 8 + 8 + 4 + 8 * 4;
    const size_t first_head = n_tokens_offset + 8 + 4;
    int64_t n_tokens = 0;
    int32_t n_state_heads = 0;
    std::memcpy(&n_tokens, bad.data() + n_tokens_offset, 8);
    std::memcpy(&n_state_heads, bad.data() + n_tokens_offset + 8, 4);
    ASSERT_EQ(n_tokens, 7);
    ASSERT_EQ(n_state_heads, 1);  // n_kv_heads = 1: one state, so one head's counters to edit
    const int64_t evicted = int64_t{1} << 30;
    n_tokens += evicted;
    std::memcpy(bad.data() + n_tokens_offset, &n_tokens, 8);
    std::memcpy(bad.data() + first_head + 4 + 8, &evicted, 8);  // has_linear, n_folded, n_evicted
    rewrite_crc(bad);
    EXPECT_EQ(lola_layer_state_restore(dst.p, bad.data(), bad.size()), LOLA_ERR_CORRUPT_DATA);
    EXPECT_NE(std::string(lola_last_error_message()).find("impossible under this attention"), std::string::npos)
        << lola_last_error_message();
}

// LOLA_MODEL_DEFAULT and AUTO are resolved before the layer exists: a blob saved by a layer made
// with attention NULL restores into one with C = lambda = 64, mode A and performer written out
// (and the two then continue alike), but not into one that differs in any of them.
TEST(StateBlob, DefaultsAndTheirValuesWrittenOutShareBlobs) {
    LayerSpec defaults = params();
    defaults.p.attention = nullptr;
    LayerSpec written = params();
    written.a.chunk_size = 64;
    written.a.sparse_capacity = 64;
    written.a.mixing = LOLA_MIXING_LOLA;
    written.a.feature_map = LOLA_FEATURE_MAP_PERFORMER;
    LayerPtr src, dst;
    ASSERT_EQ(lola_layer_create(&defaults.p, &src.p), LOLA_OK);
    feed(src.p, defaults, 0, 150);
    const std::vector<unsigned char> blob = save_blob(src.p);
    ASSERT_EQ(lola_layer_create(&written.p, &dst.p), LOLA_OK);
    ASSERT_EQ(lola_layer_state_restore(dst.p, blob.data(), blob.size()), LOLA_OK) << lola_last_error_message();
    EXPECT_EQ(feed(src.p, defaults, 150, 200), feed(dst.p, written, 150, 200));

    for (int change = 0; change < 3; ++change) {
        SCOPED_TRACE(change);
        LayerSpec other = written;
        if (change == 0) other.a.chunk_size = 63;
        if (change == 1) other.a.sparse_capacity = 65;
        if (change == 2) other.a.mixing = LOLA_MIXING_LOLCATS;
        LayerPtr l;
        ASSERT_EQ(lola_layer_create(&other.p, &l.p), LOLA_OK);
        EXPECT_EQ(lola_layer_state_restore(l.p, blob.data(), blob.size()), LOLA_ERR_INCOMPATIBLE)
            << lola_last_error_message();
    }
}

TEST(StateBlob, SaveIntoSmallBuffer) {
    const LayerSpec p = params();
    LayerPtr l;
    ASSERT_EQ(lola_layer_create(&p.p, &l.p), LOLA_OK);
    feed(l.p, p, 0, 9);
    size_t need = 0, written = 0;
    ASSERT_EQ(lola_layer_state_size(l.p, &need), LOLA_OK);
    std::vector<unsigned char> buf(need - 1);
    EXPECT_EQ(lola_layer_state_save(l.p, buf.data(), buf.size(), &written), LOLA_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(written, need);
    EXPECT_EQ(lola_layer_state_save(l.p, nullptr, 0, &written), LOLA_ERR_BUFFER_TOO_SMALL);
}

}  // namespace
