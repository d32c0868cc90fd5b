#include "commands.hpp"

namespace myr::tool {
// Placeholder during bring-up; replaced by the real subcommand.
void register_run(CLI::App&, Context&) {}
} // namespace myr::tool
