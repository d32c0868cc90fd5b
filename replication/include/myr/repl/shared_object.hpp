#pragma once
// `shared`: the monolithic-kernel baseline. One copy in shared memory behind one spin lock;
// every core's updates and reads take it. Linearizable trivially (the lock orders everything).
#include <myr/repl/object.hpp>
#include <myr/repl/spin.hpp>

namespace myr::repl {

template <ReplicatedObject Obj, typename Relax = CpuRelax>
class SharedObject {
public:
    using Op = typename Obj::Op;
    using Res = typename Obj::Result;

    [[nodiscard]] Res execute(const Op& op) {
        Guard<SpinLock<Relax>> g(m_lock);
        return Obj::is_read(op) ? m_object.read(op) : m_object.apply(op);
    }
    // For checks after the run, when no core executes.
    [[nodiscard]] const Obj& object() const { return m_object; }

private:
    alignas(64) SpinLock<Relax> m_lock;
    alignas(64) Obj m_object{};
};

} // namespace myr::repl
