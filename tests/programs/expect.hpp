#pragma once
// Checks for the bad-argument test programs: count every check, print each failure as a
// `test-fail:` line (the qemu tests count those), report at the end.
#include <myr/user/syscall.hpp>

namespace myr::test {

inline int checks = 0, failures = 0;

inline void expect(const char* what, Status got, Status want) {
    ++checks;
    if (got == want) return;
    ++failures;
    user::print("test-fail: {}: got '{}', want '{}'", what, to_string(got), to_string(want));
}

} // namespace myr::test
