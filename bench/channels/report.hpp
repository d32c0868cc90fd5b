#pragma once
// Table on stdout, CSVs and a gnuplot script under the output directory.
#include "mechanisms.hpp"
#include "multicast_bench.hpp"

#include <myr/hosted/runtime.hpp>

#include <string>
#include <vector>

namespace myr::bench {

class Report {
public:
    Report(std::string dir, double tsc_ghz, bool pause);
    void header(const hosted::Runtime& rt, const std::vector<std::uint32_t>& cores,
                std::uint64_t round_trips);
    void channel(std::uint32_t src, std::uint32_t dst, std::uint32_t distance, const Figures& f);
    void channel_summary();
    void policy(const PolicyPoint& p);
    void multicast(const MulticastRow& r);
    // Writes the files (and runs gnuplot when asked and installed). false on an I/O error.
    [[nodiscard]] bool finish(bool plot);

private:
    struct Row {
        std::uint32_t src, dst, distance;
        Figures f;
    };
    [[nodiscard]] bool write_channels() const;
    [[nodiscard]] bool write_policy() const;
    [[nodiscard]] bool write_multicast() const;
    [[nodiscard]] bool write_plot_script() const;

    std::string m_dir;
    double m_ghz;
    bool m_pause;
    std::uint32_t m_max_core = 0;
    std::vector<Row> m_rows;
    std::vector<PolicyPoint> m_policy;
    std::vector<MulticastRow> m_multicast;
};

} // namespace myr::bench
