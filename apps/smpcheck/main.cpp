// Proves that every CPU runs work: a computation with a known answer split
// across threads pinned one per CPU (the answer and each CPU's share are
// checked), then a shared counter hammered under a Mutex from every CPU.
// Exits 0 only if everything checks out.
//   -- --items N        size of the computation (default 2000000)
//   -- --increments N   mutex increments per CPU (default 20000)
#include <skiff/print.h>
#include <skiff/thread.h>
#include <skiff/time.h>

#include <atomic>
#include <cstdint>
#include <string_view>

namespace {

uint64_t parse_number(const char* text)
{
    uint64_t value = 0;
    for (; *text >= '0' && *text <= '9'; ++text)
        value = value * 10 + uint64_t(*text - '0');
    return value;
}

// Sum of i*i mod 1000003 over [begin, end): the result has a closed form
// nowhere near as easy to fake as to compute.
uint64_t work(uint64_t begin, uint64_t end)
{
    uint64_t sum = 0;
    for (uint64_t i = begin; i < end; ++i)
        sum += (i * i) % 1000003;
    return sum;
}

struct Share {
    uint64_t sum;
    uint64_t nanoseconds; // this slice's own compute time
    unsigned ran_on;
    bool done;
};

} // namespace

int main(int argc, char** argv)
{
    uint64_t items = 2000000;
    uint64_t increments = 20000;
    for (int i = 1; i + 1 < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--items")
            items = parse_number(argv[++i]);
        else if (arg == "--increments")
            increments = parse_number(argv[++i]);
    }
    unsigned cpus = skiff::cpu_count();
    skiff::println("smpcheck: {} CPU(s) online", cpus);

    // 1. The computation, one slice per CPU.
    uint64_t expected = work(0, items);
    static Share shares[skiff::Cpu::max_cpus];
    static skiff::Thread threads[skiff::Cpu::max_cpus];
    uint64_t started = skiff::monotonic_ns();
    for (unsigned cpu = 0; cpu < cpus; ++cpu) {
        uint64_t begin = items * cpu / cpus, end = items * (cpu + 1) / cpus;
        Share* share = &shares[cpu];
        auto thread = skiff::Thread::start([=] {
            uint64_t slice_started = skiff::monotonic_ns();
            share->sum = work(begin, end);
            share->nanoseconds = skiff::monotonic_ns() - slice_started;
            share->ran_on = skiff::current_cpu();
            share->done = true;
        }, { .name = "smpcheck-work", .cpu = int(cpu) });
        if (!thread) {
            skiff::println("smpcheck: FAIL cannot start a thread on CPU {}: {}", cpu, skiff::error_name(thread.error()));
            return 1;
        }
        threads[cpu] = static_cast<skiff::Thread&&>(*thread);
    }
    uint64_t total = 0;
    bool ok = true;
    for (unsigned cpu = 0; cpu < cpus; ++cpu) {
        if (threads[cpu].join().is_error())
            ok = false;
        total += shares[cpu].sum;
        bool own_cpu = shares[cpu].done && shares[cpu].ran_on == cpu;
        skiff::println("smpcheck: cpu {} computed {} in {} us ({})", cpu, shares[cpu].sum, shares[cpu].nanoseconds / 1000,
            own_cpu ? "ran there" : "WRONG CPU");
        ok = ok && own_cpu;
    }
    uint64_t elapsed_us = (skiff::monotonic_ns() - started) / 1000;
    skiff::println("smpcheck: sum {} expected {} ({} us)", total, expected, elapsed_us);
    ok = ok && total == expected;

    // 2. A shared counter under a mutex, from every CPU at once.
    static skiff::Mutex mutex;
    static uint64_t counter = 0;
    static std::atomic<unsigned> running { 0 };
    for (unsigned cpu = 0; cpu < cpus; ++cpu) {
        auto thread = skiff::Thread::start([=] {
            running.fetch_add(1);
            for (uint64_t i = 0; i < increments; ++i) {
                skiff::ScopedLock guard(mutex);
                // A read-modify-write that loses updates without the lock.
                uint64_t value = counter;
                asm volatile("" ::: "memory");
                counter = value + 1;
            }
        }, { .name = "smpcheck-mutex", .cpu = int(cpu) });
        if (!thread) {
            skiff::println("smpcheck: FAIL cannot start a mutex thread on CPU {}", cpu);
            return 1;
        }
        threads[cpu] = static_cast<skiff::Thread&&>(*thread);
    }
    for (unsigned cpu = 0; cpu < cpus; ++cpu)
        ok = threads[cpu].join().has_value() && ok;
    uint64_t expected_count = increments * cpus;
    skiff::println("smpcheck: counter {} expected {}", counter, expected_count);
    ok = ok && counter == expected_count;

    skiff::println("smpcheck: {}", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
