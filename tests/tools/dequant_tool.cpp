// dequant_tool.cpp: lola_dequant_tool TYPE N IN OUT
//
// Reads IN, the raw blocks of N elements of ggml type id TYPE (exactly row_bytes(TYPE, N)
// bytes), dequantizes them with lola::quant::dequantize_row (the reference) and writes the N
// float32 values to OUT (native byte order, little-endian on every supported host). Used by
// tests/python/test_quant_vs_gguf.py to compare with gguf.quants.dequantize. Exit status 0 on
// success, 1 on any error (with a message on stderr), 2 on bad usage.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "quant/quant.hpp"

namespace {

bool parse_i64(const char *s, int64_t &out) {
    errno = 0;
    char *end = nullptr;
    const long long v = std::strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') return false;
    out = static_cast<int64_t>(v);
    return true;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s TYPE N IN OUT\n", argv[0]);
        return 2;
    }
    int64_t type = 0, n = 0;
    if (!parse_i64(argv[1], type) || type < 0 || type > 0xFFFFFFFF || !parse_i64(argv[2], n)) {
        std::fprintf(stderr, "%s: TYPE and N must be integers\n", argv[0]);
        return 2;
    }
    try {
        const auto id = static_cast<uint32_t>(type);
        const size_t bytes = lola::quant::row_bytes(id, n);
        std::ifstream in(argv[3], std::ios::binary);
        if (!in) throw std::runtime_error(std::string("cannot open ") + argv[3]);
        const std::vector<char> data((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
        if (data.size() != bytes)
            throw std::runtime_error(std::string(argv[3]) + " has " + std::to_string(data.size()) +
                                     " bytes, " + std::to_string(n) + " " +
                                     lola::quant::type_name(id) + " elements take " +
                                     std::to_string(bytes));
        std::vector<float> out(static_cast<size_t>(n));
        lola::quant::dequantize_row(id, data.data(), out.data(), n);
        std::ofstream os(argv[4], std::ios::binary);
        os.write(reinterpret_cast<const char *>(out.data()),
                 static_cast<std::streamsize>(out.size() * sizeof(float)));
        if (!os) throw std::runtime_error(std::string("cannot write ") + argv[4]);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 1;
    }
    return 0;
}
