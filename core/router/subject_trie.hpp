// The subject router: which subscriptions does a published subject reach?
//
// Patterns are stored token by token in a trie. A subject is matched by walking it depth-first:
// at each node the next token can follow its literal edge, the node's `*` child, and, while tokens
// remain, the node's `>` child matches them all. Every node is reached by at most one path, so
// every matching subscription is visited exactly once.
//
// Literal edges of all nodes share one open-addressing table of (hash, parent, child) rather than
// a map per node: most nodes have one or two children, an empty std::unordered_map alone is bigger
// than a Node, and a large trie is walked at the speed of its cache misses. A lookup touches one
// slot of the table and then the child node, whose own token confirms the hit. Matching allocates
// nothing.
//
// Not thread-safe: the broker gives each router to one loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "subject/subject.hpp"

namespace flume {

// Names one subscription in a SubjectTrie. The generation makes a handle go stale once its
// subscription is removed, even after the slot is reused (until 2^32 reuses of that one slot).
struct SubscriptionHandle {
  std::uint32_t slot = UINT32_MAX;
  std::uint32_t generation = 0;

  friend bool operator==(SubscriptionHandle, SubscriptionHandle) = default;
};

template <class Value>
class SubjectTrie {
  // Values are copied into the trie's vectors and handed to visitors by value.
  static_assert(std::is_trivially_copyable_v<Value>, "store a pointer or an id, not an object");

 public:
  SubjectTrie() : nodes_(1) {}

  // Adds a subscription of `value` to `pattern`. On success returns SubjectError::ok and sets
  // `out`; otherwise returns validate_pattern's verdict and changes nothing. If memory runs out
  // it throws std::bad_alloc, and also changes nothing.
  SubjectError subscribe(std::string_view pattern, Value value, SubscriptionHandle &out) {
    const SubjectError error = validate_pattern(pattern);
    if (error != SubjectError::ok) return error;

    const std::uint32_t slot = take_slot();
    std::uint32_t node = kRoot;
    try {
      TokenCursor tokens(pattern);
      std::string_view token;
      while (tokens.next(token))
        node = child_for(node, token);
      nodes_[node].subs.push_back(Entry{value, slot});
    } catch (...) {
      release_slot(slot);
      prune(node);  // the nodes made for this pattern so far hold nothing
      throw;
    }
    const std::vector<Entry> &subs = nodes_[node].subs;
    if (subs.size() == 1) ++patterns_;
    slots_[slot].node = node;
    slots_[slot].index = static_cast<std::uint32_t>(subs.size() - 1);
    ++size_;
    out = SubscriptionHandle{slot, slots_[slot].generation};
    return SubjectError::ok;
  }

  // Removes one subscription. False if the handle is stale, unknown or already removed. Never
  // fails otherwise, so teardown paths can rely on it.
  bool unsubscribe(SubscriptionHandle handle) noexcept {
    if (handle.slot >= slots_.size()) return false;
    Slot &slot = slots_[handle.slot];
    if (slot.node == kNone || slot.generation != handle.generation) return false;

    const std::uint32_t node = slot.node;
    std::vector<Entry> &subs = nodes_[node].subs;
    const std::uint32_t index = slot.index;
    subs[index] = subs.back();
    slots_[subs[index].slot].index = index;
    subs.pop_back();
    release_slot(handle.slot);
    --size_;
    if (size_ == 0) {
      clear();  // the node and slot pools go back to nothing, not to their high-water mark
    } else if (subs.empty()) {
      --patterns_;
      std::vector<Entry>().swap(subs);  // a pattern nobody uses again should not keep capacity
      prune(node);
    }
    return true;
  }

  // Calls visit(Value) once for each subscription whose pattern matches `subject`. `subject`
  // should have passed validate_subject; any other bytes are safe and simply match by the same
  // token rules. `visit` must not subscribe or unsubscribe on this trie.
  template <class F>
  void match(std::string_view subject, F &&visit) const {
    auto each = [&visit](const Node &node) {
      for (const Entry &entry : node.subs)
        visit(entry.value);
      return true;
    };
    walk(kRoot, subject, each);
  }

  // Whether any subscription matches `subject`; stops at the first one.
  bool has_match(std::string_view subject) const noexcept {
    auto stop_at_first = [](const Node &node) { return node.subs.empty(); };
    return !walk(kRoot, subject, stop_at_first);
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t pattern_count() const noexcept { return patterns_; }
  // Trie nodes in use, the root included: 1 when empty. Shows that removal gives memory back.
  std::size_t node_count() const noexcept { return nodes_.size() - free_nodes_; }

  // Removes every subscription and frees all memory but the root. Outstanding handles go stale
  // rather than alias new ones: slots made from now on start above every generation handed out.
  void clear() noexcept {
    nodes_.erase(nodes_.begin() + 1, nodes_.end());
    nodes_[kRoot] = Node();
    try {
      nodes_.shrink_to_fit();
    } catch (...) {
      // Keeping the capacity is harmless; failing to clear would not be.
    }
    first_free_node_ = kNone;
    free_nodes_ = 0;
    edges_ = std::vector<Edge>();
    edge_count_ = 0;
    for (const Slot &slot : slots_) {
      if (slot.generation >= first_generation_) first_generation_ = slot.generation + 1;
    }
    slots_ = std::vector<Slot>();
    first_free_slot_ = kNone;
    size_ = 0;
    patterns_ = 0;
  }

 private:
  static constexpr std::uint32_t kNone = UINT32_MAX;
  static constexpr std::uint32_t kRoot = 0;
  static constexpr std::size_t kMinEdgeSlots = 16;

  struct Entry {
    Value value;
    std::uint32_t slot;  // lets a swap-remove fix the moved entry's slot
  };

  struct Node {
    std::string token;             // the literal this node is reached by; empty for root, `*`, `>`
    std::uint32_t parent = kNone;  // doubles as the free-list link while the node is unused
    std::uint32_t star = kNone;    // child for a `*` token
    std::uint32_t full = kNone;    // child for a final `>`; never has children itself
    std::uint32_t literals = 0;    // literal children, so matching skips lookups at leaves
    std::vector<Entry> subs;       // subscriptions whose pattern ends here
  };

  struct Edge {
    std::uint64_t hash;
    std::uint32_t parent;
    std::uint32_t child;  // kNone marks an empty slot
  };

  struct Slot {
    std::uint32_t node = kNone;  // kNone while free
    std::uint32_t index = 0;     // position in the node's subs, or next free slot while free
    std::uint32_t generation;
  };

  // Calls on_node for every node whose pattern matches `rest`, a suffix of the subject holding at
  // least one token. Returns false as soon as on_node does. Recursion depth is bounded by the
  // deepest pattern (at most 128 tokens), whatever the subject.
  template <class OnNode>
  bool walk(std::uint32_t id, std::string_view rest, OnNode &on_node) const {
    const Node &node = nodes_[id];
    if (node.full != kNone && !on_node(nodes_[node.full])) return false;

    const std::size_t dot = rest.find('.');
    const bool last = dot == std::string_view::npos;
    const std::string_view token = rest.substr(0, dot);
    const std::string_view after = last ? std::string_view() : rest.substr(dot + 1);
    auto step = [&](std::uint32_t child) {
      return last ? on_node(nodes_[child]) : walk(child, after, on_node);
    };

    if (node.literals != 0) {
      const std::uint32_t child = edges_[find_edge(id, token, edge_hash(id, token))].child;
      if (child != kNone && !step(child)) return false;
    }
    return node.star == kNone || step(node.star);
  }

  static std::uint64_t edge_hash(std::uint32_t parent, std::string_view token) noexcept {
    // The same token sits under many parents ("created" under every order id), so mix the parent
    // in well: linear probing needs the low bits to differ.
    std::uint64_t h = std::hash<std::string_view>{}(token) ^ (parent * 0x9E3779B97F4A7C15u);
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93u;
    return h ^ (h >> 32);
  }

  // Index of the edge (parent, token), or of the empty slot where it would go. The table is
  // never full, so the probe ends.
  std::size_t find_edge(std::uint32_t parent, std::string_view token,
                        std::uint64_t hash) const noexcept {
    const std::size_t mask = edges_.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const Edge &edge = edges_[i];
      if (edge.child == kNone) return i;
      if (edge.hash == hash && edge.parent == parent && nodes_[edge.child].token == token) {
        return i;
      }
    }
  }

  std::uint32_t child_for(std::uint32_t parent, std::string_view token) {
    if (token == "*" || token == ">") {
      const bool star = token == "*";
      std::uint32_t child = star ? nodes_[parent].star : nodes_[parent].full;
      if (child == kNone) {
        child = new_node(parent);  // may reallocate nodes_, so look the parent up afterwards
        (star ? nodes_[parent].star : nodes_[parent].full) = child;
      }
      return child;
    }
    // Grow at half full: unsuccessful probes, common when matching, stay short.
    if ((edge_count_ + 1) * 2 > edges_.size()) {
      resize_edges(edges_.empty() ? kMinEdgeSlots : edges_.size() * 2);
    }
    const std::uint64_t hash = edge_hash(parent, token);
    const std::size_t i = find_edge(parent, token, hash);
    if (edges_[i].child != kNone) return edges_[i].child;
    std::string owned(token);  // allocated before the node, so a failure leaves no orphan
    const std::uint32_t child = new_node(parent);
    nodes_[child].token = std::move(owned);
    edges_[i] = Edge{hash, parent, child};
    ++edge_count_;
    ++nodes_[parent].literals;
    return child;
  }

  // Backward-shift deletion (Knuth's algorithm R): later entries of the probe run move up so no
  // tombstones accumulate under churn.
  void erase_edge(std::uint32_t parent, std::string_view token) noexcept {
    const std::size_t mask = edges_.size() - 1;
    std::size_t hole = find_edge(parent, token, edge_hash(parent, token));
    for (std::size_t i = (hole + 1) & mask; edges_[i].child != kNone; i = (i + 1) & mask) {
      const std::size_t home = edges_[i].hash & mask;
      // Move the entry into the hole unless its home lies cyclically in (hole, i].
      const bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
      if (!stays) {
        edges_[hole] = edges_[i];
        hole = i;
      }
    }
    edges_[hole].child = kNone;
    --edge_count_;
    if (edges_.size() > kMinEdgeSlots && edge_count_ * 8 < edges_.size()) {
      try {
        resize_edges(edges_.size() / 2);
      } catch (...) {
        // Shrinking is a courtesy: a sparse table still works, and removal must not fail.
      }
    }
  }

  void resize_edges(std::size_t slots) {
    std::vector<Edge> previous(slots, Edge{0, 0, kNone});
    previous.swap(edges_);
    const std::size_t mask = slots - 1;
    for (const Edge &edge : previous) {
      if (edge.child == kNone) continue;
      std::size_t i = edge.hash & mask;
      while (edges_[i].child != kNone)
        i = (i + 1) & mask;
      edges_[i] = edge;
    }
  }

  std::uint32_t new_node(std::uint32_t parent) {
    std::uint32_t id;
    if (first_free_node_ != kNone) {
      id = first_free_node_;
      first_free_node_ = nodes_[id].parent;
      --free_nodes_;
    } else {
      id = static_cast<std::uint32_t>(nodes_.size());
      nodes_.emplace_back();
    }
    nodes_[id].parent = parent;
    return id;
  }

  // Detaches unused nodes from `id` towards the root, so churn does not leave a dead trie behind.
  void prune(std::uint32_t id) noexcept {
    while (id != kRoot) {
      Node &node = nodes_[id];
      if (!node.subs.empty() || node.literals != 0 || node.star != kNone || node.full != kNone) {
        return;
      }
      const std::uint32_t parent = node.parent;
      Node &up = nodes_[parent];
      if (!node.token.empty()) {
        erase_edge(parent, node.token);
        --up.literals;
      } else if (up.star == id) {
        up.star = kNone;
      } else {
        up.full = kNone;
      }
      node = Node();
      node.parent = first_free_node_;
      first_free_node_ = id;
      ++free_nodes_;
      id = parent;
    }
  }

  std::uint32_t take_slot() {
    if (first_free_slot_ == kNone) {
      slots_.push_back(Slot{kNone, 0, first_generation_});
      return static_cast<std::uint32_t>(slots_.size() - 1);
    }
    const std::uint32_t slot = first_free_slot_;
    first_free_slot_ = slots_[slot].index;
    return slot;
  }

  void release_slot(std::uint32_t slot) noexcept {
    slots_[slot].node = kNone;
    ++slots_[slot].generation;
    slots_[slot].index = first_free_slot_;
    first_free_slot_ = slot;
  }

  std::vector<Node> nodes_;  // nodes_[0] is the root; unused nodes form a free list
  std::uint32_t first_free_node_ = kNone;
  std::size_t free_nodes_ = 0;
  std::vector<Edge> edges_;  // open addressing, linear probing, a power of two in size
  std::size_t edge_count_ = 0;
  std::vector<Slot> slots_;  // indexed by SubscriptionHandle::slot
  std::uint32_t first_free_slot_ = kNone;
  std::uint32_t first_generation_ = 1;  // 0 is never handed out, so a default handle is stale
  std::size_t size_ = 0;
  std::size_t patterns_ = 0;
};

}  // namespace flume
