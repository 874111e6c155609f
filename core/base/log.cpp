// log.cpp: the process-wide log sink of log.hpp.
#include "base/log.hpp"

#include <cstdio>
#include <mutex>

namespace lola {

namespace {

std::mutex g_mutex;
LogSink g_sink = nullptr;
void *g_user = nullptr;

}  // namespace

void set_log_sink(LogSink sink, void *user_data) {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_sink = sink;
    g_user = user_data;
}

void log(LogLevel level, const std::string &message) {
    LogSink sink;
    void *user;
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        sink = g_sink;
        user = g_user;
    }
    if (sink)
        sink(static_cast<int>(level), message.c_str(), user);
    else if (level >= LogLevel::warn)
        std::fprintf(stderr, "liblola: %s\n", message.c_str());
}

}  // namespace lola
