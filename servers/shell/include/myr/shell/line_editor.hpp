#pragma once
// The shell's line editor: bytes from a serial terminal in, an edited line out. Pure (no system
// calls, no allocation): the guest feeds it what console_read returned, the host tests and the
// fuzzer feed it anything. What it wants shown (echo, erasing, a recalled line) it appends to a
// caller's FixedBuffer, which the guest writes to the console.
//
// Keys: printable ASCII is appended (the line holds at most line_max - 1 bytes; more is dropped
// unechoed); Backspace (0x08) or DEL (0x7f) removes the last byte; Ctrl-U (0x15) removes the whole
// line; Up / Down (ESC [ A / ESC [ B, or ESC O A / ESC O B) step through the last history_max
// lines, Down past the newest brings back what was being typed; Enter (CR or LF; LF right after CR
// is the same Enter) finishes the line. Every other byte, and every other escape sequence, is
// ignored: a terminal's stray controls must not end up inside a command.
#include <myr/format.hpp>

#include <cstddef>
#include <cstdint>

namespace myr::shell {

class LineEditor {
public:
    static constexpr std::size_t line_max = 128;     // bytes of a line, with its NUL
    static constexpr std::size_t history_max = 16;   // lines kept for Up / Down
    static constexpr std::size_t echo_max = 4 * line_max;  // an echo buffer this big never truncates

    enum class Event { none, line };

    // One byte from the terminal. Event::line: line() holds the finished line (until the next feed).
    Event feed(char byte, FixedBuffer& echo) {
        const auto c = static_cast<unsigned char>(byte);
        const bool after_cr = m_after_cr;
        m_after_cr = false;
        switch (m_state) {
        case State::esc:
            m_state = c == '[' ? State::csi : c == 'O' ? State::ss3 : State::normal;
            return Event::none;
        case State::ss3:
            m_state = State::normal;
            arrow(c, echo);
            return Event::none;
        case State::csi:
            if (c >= 0x20 && c <= 0x3f) return Event::none;  // parameters, intermediates: "ESC [ 1 ; 5 A"
            m_state = State::normal;
            if (c >= 0x40 && c <= 0x7e) {
                arrow(c, echo);
                return Event::none;
            }
            break;  // a control byte cuts the sequence short: it counts on its own
        case State::normal: break;
        }
        if (c >= 0x20 && c < 0x7f) {
            if (m_len + 1 < line_max) {
                m_line[m_len++] = static_cast<char>(c);
                echo.put(static_cast<char>(c));
            }
            return Event::none;
        }
        switch (c) {
        case 0x1b: m_state = State::esc; return Event::none;
        case 0x08:
        case 0x7f:
            if (m_len) {
                --m_len;
                echo.put("\b \b");
            }
            return Event::none;
        case 0x15: erase(echo); return Event::none;
        case '\r':
        case '\n':
            if (c == '\n' && after_cr) return Event::none;
            m_after_cr = c == '\r';
            finish(echo);
            return Event::line;
        default: return Event::none;
        }
    }

    [[nodiscard]] const char* line() const { return m_done; }
    [[nodiscard]] std::size_t length() const { return m_len; }  // of the line being typed
    [[nodiscard]] const char* current() {                       // the line being typed, as shown
        m_line[m_len] = '\0';
        return m_line;
    }
    [[nodiscard]] std::size_t history_count() const { return m_hist_count; }
    // i = 0: the newest line in the history.
    [[nodiscard]] const char* history(std::size_t i) const {
        return i < m_hist_count ? m_hist[(m_hist_next + history_max - 1 - i) % history_max] : "";
    }

private:
    enum class State : std::uint8_t { normal, esc, csi, ss3 };

    static std::size_t length_of(const char* s) {
        std::size_t n = 0;
        while (s[n]) ++n;
        return n;
    }
    static bool same(const char* a, const char* b) {
        while (*a && *a == *b) ++a, ++b;
        return *a == *b;
    }

    void erase(FixedBuffer& echo) {
        for (; m_len; --m_len) echo.put("\b \b");
    }

    // Replaces the shown line with s.
    void show(const char* s, FixedBuffer& echo) {
        erase(echo);
        for (; s[m_len] && m_len + 1 < line_max; ++m_len) {
            m_line[m_len] = s[m_len];
            echo.put(s[m_len]);
        }
    }

    void arrow(unsigned char final_byte, FixedBuffer& echo) {
        if (final_byte == 'A' && m_browse < m_hist_count) {
            if (m_browse == 0) {  // keep what was being typed, for Down past the newest line
                for (std::size_t i = 0; i < m_len; ++i) m_draft[i] = m_line[i];
                m_draft[m_len] = '\0';
            }
            ++m_browse;
            show(history(m_browse - 1), echo);
        } else if (final_byte == 'B' && m_browse > 0) {
            --m_browse;
            show(m_browse ? history(m_browse - 1) : m_draft, echo);
        }
    }

    void finish(FixedBuffer& echo) {
        echo.put('\n');
        for (std::size_t i = 0; i < m_len; ++i) m_done[i] = m_line[i];
        m_done[m_len] = '\0';
        m_len = 0;
        m_browse = 0;
        // Blank lines and repeats of the newest entry would only push useful lines out.
        bool blank = true;
        for (const char* p = m_done; *p; ++p) blank = blank && (*p == ' ');
        if (blank || (m_hist_count && same(history(0), m_done))) return;
        char* slot = m_hist[m_hist_next];
        const std::size_t n = length_of(m_done);
        for (std::size_t i = 0; i <= n; ++i) slot[i] = m_done[i];
        m_hist_next = (m_hist_next + 1) % history_max;
        if (m_hist_count < history_max) ++m_hist_count;
    }

    char m_line[line_max] = {};
    std::size_t m_len = 0;
    char m_done[line_max] = {};
    char m_draft[line_max] = {};
    char m_hist[history_max][line_max] = {};
    std::size_t m_hist_next = 0;   // where the next line goes (ring)
    std::size_t m_hist_count = 0;
    std::size_t m_browse = 0;      // 0: the line being typed; k: the k-th newest history line
    State m_state = State::normal;
    bool m_after_cr = false;
};

} // namespace myr::shell
