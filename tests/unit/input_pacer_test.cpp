// myriadctl run --input: the script's escapes and the pacing (one line per prompt the guest prints,
// a prompt split across serial chunks counted once, nothing sent before the first prompt).
#include <myr/config/input_pacer.hpp>

#include <gtest/gtest.h>

using namespace myr::config;

namespace {

TEST(InputScript, DecodesEscapesAndRefusesUnknownOnes) {
    EXPECT_EQ(decode_input_line("plain text"), "plain text");
    EXPECT_EQ(decode_input_line("\\e[A"), "\x1b[A");
    EXPECT_EQ(decode_input_line("ab\\x7f\\x08c"), "ab\x7f\x08" "c");
    EXPECT_EQ(decode_input_line("a\\\\b"), "a\\b");
    EXPECT_EQ(decode_input_line("\\xFf"), "\xff");
    EXPECT_EQ(decode_input_line("\\x00"), std::string(1, '\0'));
    EXPECT_FALSE(decode_input_line("\\n"));
    EXPECT_FALSE(decode_input_line("trailing\\"));
    EXPECT_FALSE(decode_input_line("\\x7"));
    EXPECT_FALSE(decode_input_line("\\x7g"));
}

TEST(InputScript, SplitsLinesKeepsBlankOnesAndNamesTheBadLine) {
    std::string error;
    auto l = parse_input_script("help\r\n\ncores\nlast", error);
    ASSERT_TRUE(l);
    EXPECT_EQ(*l, (std::vector<std::string>{"help", "", "cores", "last"}));
    l = parse_input_script("a\n", error);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->size(), 1u) << "the newline ending the file starts no line";
    l = parse_input_script("", error);
    ASSERT_TRUE(l);
    EXPECT_TRUE(l->empty());
    EXPECT_FALSE(parse_input_script("ok\nbad \\q\n", error));
    EXPECT_NE(error.find("line 2"), std::string::npos) << error;
}

TEST(InputPacer, SendsOneLinePerPromptAndNothingBefore) {
    InputPacer p({"help", "cores", "shutdown"}, "myriad> ");
    EXPECT_EQ(p.on_output("boot lines...\nmonitor-up core=0\n"), "");
    EXPECT_EQ(p.sent(), 0u);
    EXPECT_EQ(p.on_output("myriad shell\nmyriad> "), "help\r");
    EXPECT_EQ(p.on_output("help\ncommands:\n  help ...\n"), "") << "no prompt yet: the guest is still busy";
    EXPECT_EQ(p.on_output("myriad> "), "cores\r");
    EXPECT_FALSE(p.done());
    EXPECT_EQ(p.on_output("cores\n8 cores\nmyriad> "), "shutdown\r");
    EXPECT_TRUE(p.done());
    EXPECT_EQ(p.on_output("myriad> "), "") << "after the last line: nothing more";
    EXPECT_EQ(p.prompts_seen(), 4u);
}

TEST(InputPacer, APromptSplitAcrossChunksCountsOnceWhenItCompletes) {
    InputPacer p({"a", "b", "c"}, "myriad> ");
    EXPECT_EQ(p.on_output("xx myr"), "");
    EXPECT_EQ(p.on_output("iad"), "");
    EXPECT_EQ(p.on_output("> "), "a\r");
    EXPECT_EQ(p.on_output(" "), "") << "the completed prompt is not counted again";
    // Byte by byte.
    std::string sent;
    for (char c : std::string("myriad> ")) sent += p.on_output(std::string(1, c));
    EXPECT_EQ(sent, "b\r");
    // Two prompts in one chunk release two lines.
    InputPacer q({"1", "2", "3"}, "$ ");
    EXPECT_EQ(q.on_output("$ x\n$ "), "1\r2\r");
    EXPECT_EQ(q.prompts_seen(), 2u);
}

TEST(InputPacer, SelfOverlappingPromptsDoNotShareBytes) {
    InputPacer p({"1", "2", "3"}, "aa");
    EXPECT_EQ(p.on_output("aaa"), "1\r") << "aaa holds one whole prompt, not two";
    EXPECT_EQ(p.on_output("a"), "2\r") << "the leftover a and this one";
    EXPECT_EQ(p.on_output("a"), "");
}

TEST(InputPacer, AnotherLineEnding) {
    InputPacer p({"x"}, "> ", "\n");
    EXPECT_EQ(p.on_output("> "), "x\n");
}

} // namespace
