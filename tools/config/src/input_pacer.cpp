#include <myr/config/input_pacer.hpp>

namespace myr::config {

namespace {
int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
} // namespace

std::optional<std::string> decode_input_line(std::string_view line) {
    std::string out;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] != '\\') {
            out += line[i];
            continue;
        }
        if (++i == line.size()) return std::nullopt;
        if (line[i] == '\\') out += '\\';
        else if (line[i] == 'e') out += '\x1b';
        else if (line[i] == 'x' && i + 2 < line.size() && hex_digit(line[i + 1]) >= 0 && hex_digit(line[i + 2]) >= 0) {
            out += static_cast<char>(hex_digit(line[i + 1]) * 16 + hex_digit(line[i + 2]));
            i += 2;
        } else {
            return std::nullopt;
        }
    }
    return out;
}

std::optional<std::vector<std::string>> parse_input_script(std::string_view text, std::string& error) {
    std::vector<std::string> lines;
    std::size_t start = 0, number = 1;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view raw = text.substr(start, end - start);
        if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
        auto decoded = decode_input_line(raw);
        if (!decoded) {
            error = "line " + std::to_string(number) + ": bad escape (use \\e, \\xHH or \\\\): " + std::string(raw);
            return std::nullopt;
        }
        lines.push_back(std::move(*decoded));
        start = end + 1;
        ++number;
    }
    return lines;
}

InputPacer::InputPacer(std::vector<std::string> lines, std::string prompt, std::string end)
    : m_lines(std::move(lines)), m_prompt(std::move(prompt)), m_end(std::move(end)) {}

std::string InputPacer::on_output(std::string_view chunk) {
    std::string send;
    if (m_prompt.empty()) return send;
    // Search the end of what came before joined with this chunk: a prompt split between chunks.
    std::string text = m_tail;
    text.append(chunk);
    // The tail holds no byte of a prompt already counted (it is cut after each match), so every
    // match found here is new.
    std::size_t after_match = 0;
    for (std::size_t at = text.find(m_prompt); at != std::string::npos; at = text.find(m_prompt, after_match)) {
        after_match = at + m_prompt.size();
        ++m_prompts;
        if (m_next < m_lines.size()) send += m_lines[m_next++] + m_end;
    }
    const std::size_t keep = m_prompt.size() - 1;
    std::size_t from = text.size() > keep ? text.size() - keep : 0;
    if (from < after_match) from = after_match;
    m_tail = text.substr(from);
    return send;
}

} // namespace myr::config
