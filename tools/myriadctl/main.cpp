// myriadctl: host-side tool behind ./myriad (run a config in QEMU, check a boot log, read ACPI
// tables into a topology, validate configs).
#include "commands.hpp"

int main(int argc, char** argv) {
    CLI::App app{"myriadctl: host tool of the Myriad multikernel (usually called through ./myriad)"};
    app.require_subcommand(1);
    myr::tool::Context ctx;
    myr::tool::register_topology(app, ctx);
    myr::tool::register_run(app, ctx);
    myr::tool::register_config(app, ctx);
    CLI11_PARSE(app, argc, argv);
    return ctx.exit_code;
}
