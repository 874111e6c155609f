// log.hpp: the core's one log sink. Messages go to a process-wide callback when one is set
// (the C API's lola_set_log_callback installs it), else warnings and errors go to stderr.
// Thread-safe: any thread may log while another replaces the sink.
#pragma once

#include <cstdint>
#include <string>

namespace lola {

// The values of lola_log_level in capi/lola.h (tied there by static_asserts).
enum class LogLevel : int { debug = 0, info = 1, warn = 2, error = 3 };

// A sink receives the level as an int, the message, and the user pointer it was set with.
using LogSink = void (*)(int32_t level, const char *message, void *user_data);

// Replaces the sink (nullptr restores the default: warnings and errors on stderr).
void set_log_sink(LogSink sink, void *user_data);

void log(LogLevel level, const std::string &message);

}  // namespace lola
