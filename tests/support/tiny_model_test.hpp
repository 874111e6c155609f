// tiny_model_test.hpp: a per-process temporary file name, and a gtest fixture that writes the
// tiny random Llama (tiny_llama.hpp) once per test suite and loads it through the C API before
// each test (model_), freeing it after.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "lola.h"
#include "tiny_llama.hpp"

namespace lola_test {

// A file in the temporary directory, unique to this process (ctest runs tests in parallel
// processes).
inline std::string temp_path(const std::string &name) {
    return (std::filesystem::temp_directory_path() /
            ("lola_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

struct TinyModelTest : testing::Test {
    static void SetUpTestSuite() { path_ = new std::string(TinyLlama{}.write(temp_path("tiny.gguf"))); }
    static void TearDownTestSuite() {
        std::filesystem::remove(*path_);
        delete path_;
        path_ = nullptr;
    }
    void SetUp() override {
        lola_model_params mp;
        ASSERT_EQ(lola_model_params_init(&mp), LOLA_OK);
        ASSERT_EQ(lola_model_load(path_->c_str(), &mp, &model_), LOLA_OK) << lola_last_error_message();
    }
    void TearDown() override { lola_model_free(model_); }

    inline static std::string *path_ = nullptr;
    lola_model *model_ = nullptr;
};

}  // namespace lola_test
