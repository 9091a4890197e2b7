// Boot-path checks under TCG: QEMU translates every distinct basic block the
// guest runs before running it, and on the boot path, where almost every
// block runs once, each conditional branch costs a block of its own. A check
// written as `if ((a) | (b) | (c))` is meant as one branch, but the compiler
// may split it back into one per operand; as_one_test() makes the combined
// condition a value first, so it stays one branch.
#pragma once

namespace skiff {

[[gnu::always_inline]] inline bool as_one_test(bool condition)
{
    asm("" : "+r"(condition));
    return condition;
}

} // namespace skiff
