#pragma once
// Scripted serial input (`myriadctl run --input FILE`): the lines of FILE go to the guest's serial
// port one at a time, each only once the guest has printed its prompt again, so a script never
// runs ahead of the guest and never overruns the UART's 16-byte receive FIFO with more than one
// line. Pure: the runner feeds it the serial output and writes what it returns to QEMU's stdin.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace myr::config {

// A script line's escapes, for bytes a text file cannot show: \e (ESC), \xHH (any byte), \\ (a
// backslash). Anything else after a backslash is an error (nullopt), so a typo does not
// silently send the wrong bytes.
[[nodiscard]] std::optional<std::string> decode_input_line(std::string_view line);

// The lines of a script (newline-separated; a CR before the newline and a last line without a
// newline are fine) with their escapes decoded; `error` says which line is wrong.
[[nodiscard]] std::optional<std::vector<std::string>> parse_input_script(std::string_view text, std::string& error);

class InputPacer {
public:
    // Each line is sent with `end` after it (a terminal's Enter).
    InputPacer(std::vector<std::string> lines, std::string prompt, std::string end = "\r");

    // A chunk of serial output; returns the bytes to send now: the next line for every prompt
    // completed in this chunk (a prompt split across chunks counts once, when it completes).
    [[nodiscard]] std::string on_output(std::string_view chunk);

    [[nodiscard]] std::size_t sent() const { return m_next; }
    [[nodiscard]] std::size_t total() const { return m_lines.size(); }
    [[nodiscard]] bool done() const { return m_next == m_lines.size(); }
    [[nodiscard]] std::size_t prompts_seen() const { return m_prompts; }

private:
    std::vector<std::string> m_lines;
    std::string m_prompt;
    std::string m_end;
    std::string m_tail;  // the last prompt.size() - 1 bytes seen: a prompt may span two chunks
    std::size_t m_next = 0;
    std::size_t m_prompts = 0;
};

} // namespace myr::config
