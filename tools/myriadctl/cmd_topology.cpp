#include "commands.hpp"

namespace myr::tool {
// Placeholder during bring-up; replaced by the real subcommand.
void register_topology(CLI::App&, Context&) {}
} // namespace myr::tool
