#pragma once
// `broadcast`: one phase. The origin applies and completes at once, then the update travels down
// the origin's multicast tree; every replica applies what reaches it from its tree parent.
// Correct only for commuting updates (replicas see them in different orders); reads are local.
// Included by replica.hpp.

namespace myr::repl {

template <ReplicatedObject Obj>
Status Replica<Obj>::broadcast_submit(std::int32_t slot) {
    const Pending& q = m_pending[slot];
    if (q.read) {
        finish_pending(slot, Status::ok, m_object.read(q.op));
        return Status::ok;
    }
    const Op op = q.op;
    const std::uint64_t id = q.id;
    finish_pending(slot, Status::ok, apply(op));
    Packet p = packet(Kind::bcast, m_self, m_self, id, 0);
    to_words(op, p.body);
    forward(p);
    return Status::ok;
}

template <ReplicatedObject Obj>
Status Replica<Obj>::broadcast_on(const Packet& p) {
    if (p.kind != Kind::bcast) return reject(Status::invalid_argument);
    if (p.root != p.origin || m_group->parent(p.root, m_self) != p.from)
        return reject(Status::malformed);
    const Op op = from_words<Op>(p.body);
    if (!Obj::valid(op) || Obj::is_read(op)) return reject(Status::malformed);
    (void)apply(op);
    forward(p);
    return Status::ok;
}

} // namespace myr::repl
