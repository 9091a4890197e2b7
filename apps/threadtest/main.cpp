// Exercises the thread API beyond smpcheck: condition variables, semaphores,
// once, detach, yield, sleeping threads, run_on, per-CPU storage, and the
// failure paths. Each check prints a line; exits 0 only if all pass.
//   -- --overflow        a thread overflows its stack into the guard page
//   -- --fault-in-thread a thread dereferences an unmapped address
#include <skiff/print.h>
#include <skiff/thread.h>
#include <skiff/time.h>

#include <atomic>
#include <string_view>

namespace {

bool g_ok = true;

void check(bool condition, std::string_view what)
{
    skiff::println("threadtest: {} {}", condition ? "ok" : "FAIL", what);
    g_ok = g_ok && condition;
}

void producer_consumer()
{
    static skiff::Mutex mutex;
    static skiff::ConditionVariable not_empty, not_full;
    static int queue[8];
    static unsigned head = 0, tail = 0, size = 0;
    constexpr int items = 2000;
    static long long consumed_sum = 0;

    auto consumer = skiff::Thread::start([] {
        for (int i = 0; i < items; ++i) {
            skiff::ScopedLock guard(mutex);
            while (size == 0)
                not_empty.wait(mutex);
            consumed_sum += queue[head];
            head = (head + 1) % 8;
            --size;
            not_full.notify_one();
        }
    }, { .name = "consumer" });
    auto producer = skiff::Thread::start([] {
        for (int i = 1; i <= items; ++i) {
            skiff::ScopedLock guard(mutex);
            while (size == 8)
                not_full.wait(mutex);
            queue[tail] = i;
            tail = (tail + 1) % 8;
            ++size;
            not_empty.notify_one();
        }
    }, { .name = "producer" });
    bool started = consumer.has_value() && producer.has_value();
    if (started) {
        (void)producer->join();
        (void)consumer->join();
    }
    check(started && consumed_sum == (long long)items * (items + 1) / 2, "condition variable: bounded queue carried every item once");
}

void semaphore_and_once()
{
    static skiff::Semaphore slots(2);
    static std::atomic<int> inside { 0 }, most { 0 };
    static skiff::Once once;
    static std::atomic<int> once_runs { 0 };
    skiff::Thread threads[6];
    for (auto& thread : threads) {
        auto started = skiff::Thread::start([] {
            once.call([] { once_runs.fetch_add(1); });
            for (int i = 0; i < 50; ++i) {
                slots.acquire();
                int now = inside.fetch_add(1) + 1;
                int seen = most.load();
                while (now > seen && !most.compare_exchange_weak(seen, now)) {
                }
                skiff::yield();
                inside.fetch_sub(1);
                slots.release();
            }
        });
        if (started)
            thread = static_cast<skiff::Thread&&>(*started);
    }
    for (auto& thread : threads) {
        if (thread.joinable())
            (void)thread.join();
    }
    check(most.load() >= 1 && most.load() <= 2, "semaphore: never more than 2 holders");
    check(once_runs.load() == 1, "once: ran exactly once across 6 threads");
}

void sleepers()
{
    // Eight threads sleep 100 ms each at once. They overlap - every one has
    // started before any wakes - because a sleeping thread leaves the CPU to
    // the others; none wakes early.
    static std::atomic<int> woke { 0 };
    static uint64_t started_at[8], woke_at[8];
    skiff::Thread threads[8];
    for (int i = 0; i < 8; ++i) {
        auto started = skiff::Thread::start([i] {
            started_at[i] = skiff::monotonic_ns();
            skiff::sleep_ms(100);
            woke_at[i] = skiff::monotonic_ns();
            woke.fetch_add(1);
        });
        if (started)
            threads[i] = static_cast<skiff::Thread&&>(*started);
    }
    for (auto& thread : threads) {
        if (thread.joinable())
            (void)thread.join();
    }
    uint64_t last_start = 0, first_wake = ~uint64_t(0);
    bool none_early = true;
    for (int i = 0; i < 8; ++i) {
        last_start = started_at[i] > last_start ? started_at[i] : last_start;
        first_wake = woke_at[i] < first_wake ? woke_at[i] : first_wake;
        none_early = none_early && woke_at[i] - started_at[i] >= 100000000ull;
    }
    check(woke.load() == 8 && none_early, "sleep: every sleeper woke, none early");
    check(last_start < first_wake, "sleep: sleepers overlap instead of queueing");
}

void detach_yield_run_on_per_cpu()
{
    static std::atomic<bool> detached_ran { false };
    auto detached = skiff::Thread::start([] { detached_ran.store(true); });
    if (detached)
        detached->detach();
    for (int i = 0; i < 1000 && !detached_ran.load(); ++i)
        skiff::sleep_ms(1);
    check(detached_ran.load(), "detach: a detached thread runs to completion");

    static skiff::PerCpu<unsigned> visits;
    bool all = true;
    for (unsigned cpu = 0; cpu < skiff::cpu_count(); ++cpu) {
        unsigned where = ~0u;
        auto result = skiff::run_on(cpu, [&] {
            where = skiff::current_cpu();
            ++visits.local();
        });
        all = all && result.has_value() && where == cpu && visits.on(cpu) == 1;
    }
    check(all, "run_on and PerCpu: each CPU ran its job and counted it in its own slot");
    auto bad = skiff::Thread::start([] {}, { .cpu = 9999 });
    check(!bad.has_value() && bad.error() == skiff::Error::InvalidArgument, "a thread pinned to a missing CPU is refused");
}

// Runs into the guard page on purpose.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"
[[gnu::noinline]] int recurse(int depth)
{
    volatile char buffer[512];
    buffer[0] = char(depth);
    return recurse(depth + 1) + buffer[0];
}
#pragma GCC diagnostic pop

// Main busy-waits, never blocking, while a thread it started starts another
// that sets a flag. On one CPU only the timer interrupt preempting main lets
// them run; on several, creating a thread interrupts main's CPU (the TLB
// shootdown for the new stack's guard page). Either way main must be taking
// interrupts, although nothing it did before asked for them.
void main_spins_while_threads_run()
{
    static std::atomic<bool> done { false };
    auto outer = skiff::Thread::start([] {
        auto inner = skiff::Thread::start([] { done.store(true, std::memory_order_release); });
        if (inner)
            (void)inner->join();
    });
    uint64_t give_up = skiff::monotonic_ns() + 10'000'000'000ull; // a hang guard, not a timing check
    while (!done.load(std::memory_order_acquire) && skiff::monotonic_ns() < give_up)
        asm volatile("pause");
    check(done.load(), "main busy-waiting on a flag its threads set");
    if (outer)
        (void)outer->join();
}

} // namespace

int main(int argc, char** argv)
{
    std::string_view mode = argc > 1 ? argv[1] : "";
    if (mode == "--overflow" || mode == "--fault-in-thread") {
        auto thread = skiff::Thread::start([mode] {
            if (mode == "--overflow") {
                skiff::println("threadtest: overflowing the stack");
                recurse(0);
            } else {
                skiff::println("threadtest: faulting in a thread");
                *reinterpret_cast<volatile int*>(0x7ffffffff000ull) = 1;
            }
        }, { .name = "doomed", .stack_size = 16384 });
        if (thread)
            (void)thread->join();
        skiff::println("threadtest: FAIL the fault did not stop the VM");
        return 1;
    }
    skiff::println("threadtest: {} CPU(s)", skiff::cpu_count());
    main_spins_while_threads_run(); // first: before anything else turns interrupts on
    producer_consumer();
    semaphore_and_once();
    sleepers();
    detach_yield_run_on_per_cpu();
    skiff::println("threadtest: {}", g_ok ? "PASS" : "FAIL");
    return g_ok ? 0 : 1;
}
