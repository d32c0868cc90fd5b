#pragma once
// The catalogue: the one list of replicated objects the tools know by name. Adding an object is
// its class (a Catalogued ReplicatedObject, object.hpp) plus one line in `Objects` below (and its
// #include). Everything else follows from the list:
//   * the monitors (monitor/replication*.cpp): the plan step's object names, the wire object id,
//     the replica's memory (sized for the largest object here, checked against a budget at
//     compile time), the dispatch, the client's operations (`sample`), the default protocol;
//   * the config (tools/config): `[replication] NAME = ...` and its NAME_* keys, and whether
//     broadcast is allowed (`commutes`); `replicate:NAME...` plan steps checked before boot;
//   * the simulation and hosted tests (every catalogued object under every message protocol);
//   * both benchmarks' `--object NAME`.
// Freestanding (the monitors include it).
#include <myr/repl/objects/counter.hpp>
#include <myr/repl/objects/kv_map.hpp>
#include <myr/repl/objects/max_register.hpp>
#include <myr/repl/objects/memory_ownership.hpp>
#include <myr/repl/objects/name_table.hpp>
#include <myr/repl/objects/registry.hpp>
#include <myr/repl/wire.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace myr::repl {

template <Catalogued... Os>
struct ObjectList {
    static constexpr std::size_t size = sizeof...(Os);
    static constexpr std::string_view names[] = {Os::name...};

    // f(std::type_identity<O>{}) for every object, in list order.
    template <typename F>
    static constexpr void for_each(F&& f) {
        (f(std::type_identity<Os>{}), ...);
    }
    // f(std::type_identity<O>{}) for the object with wire id `id` (1-based list position); false
    // when there is none.
    template <typename F>
    static constexpr bool visit(std::size_t id, F&& f) {
        std::size_t i = 0;
        bool hit = false;
        ((++i == id ? (f(std::type_identity<Os>{}), hit = true) : false), ...);
        return hit;
    }
    // The wire id of `name` (1..size), or 0.
    static constexpr std::size_t id_of(std::string_view name) {
        for (std::size_t i = 0; i < size; ++i)
            if (names[i] == name) return i + 1;
        return 0;
    }
    // The largest value of `sizeof_of<O>` over the list (e.g. a replica's size, for one buffer).
    template <template <typename> class Size>
    static constexpr std::size_t max_size() {
        std::size_t m = 0;
        ((m = Size<Os>::value > m ? Size<Os>::value : m), ...);
        return m;
    }
};

// >>> THE LIST. Position = wire object id - 1. Add your object here. <<<
using Objects = ObjectList<Registry, MemoryOwnership, Counter, KvMap, MaxRegister, NameTable>;

// The monitors put the object id in the low object_id_bits of a line's object field (wire.hpp)
// and a run number above it; id 0 means none.
static_assert(Objects::size <= max_catalogued_objects, "too many objects for the wire's object id (wire.hpp)");

} // namespace myr::repl
