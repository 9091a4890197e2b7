// The smallest useful Skiff app: reports how it booted and what it found,
// then exits with the status asked for.
//   -- --exit N   exit with status N
//   -- --fault    touch an unmapped address (proves the exception path)
//   -- --fault-null  read through a null pointer (page 0 is never mapped)
//   -- --hang     never return (proves the run tool's timeout)
//   -- --sleep MS sleep on the timer and report how long it took
#include <skiff/print.h>
#include <skiff/system.h>
#include <skiff/time.h>

#include <string_view>

namespace {

int parse_status(const char* text)
{
    int value = 0;
    for (; *text >= '0' && *text <= '9'; ++text)
        value = value * 10 + (*text - '0');
    return value;
}

} // namespace

int main(int argc, char** argv)
{
    skiff::SystemInfo info = skiff::system_info();
    skiff::println("hello: boot entry: {}", info.boot_entry);
    skiff::println("hello: cpus: {}", info.cpu_count);
    skiff::println("hello: memory: {} MiB usable", info.usable_memory_bytes >> 20);
    skiff::println("hello: argc: {}", argc);
    for (int i = 0; i < argc; ++i)
        skiff::println("hello: argv[{}]: {}", i, argv[i]);

    int status = 0;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--exit" && i + 1 < argc) {
            status = parse_status(argv[++i]);
        } else if (arg == "--fault") {
            skiff::println("hello: faulting on purpose");
            // An address the kernel never maps: the top of the low canonical half.
            volatile int* unmapped = reinterpret_cast<volatile int*>(0x00007ffffffff000ull);
            *unmapped = 1;
        } else if (arg == "--fault-null") {
            skiff::println("hello: reading through a null pointer on purpose");
            volatile int* null = nullptr;
            asm volatile("" : "+r"(null)); // the compiler must not see a null dereference
            status = *null;
        } else if (arg == "--sleep" && i + 1 < argc) {
            uint64_t ms = uint64_t(parse_status(argv[++i]));
            uint64_t before = skiff::monotonic_ns();
            skiff::sleep_ms(ms);
            uint64_t slept_us = (skiff::monotonic_ns() - before) / 1000;
            skiff::println("hello: slept {} ms, clock says {} us", ms, slept_us);
        } else if (arg == "--hang") {
            skiff::println("hello: hanging on purpose");
            for (;;)
                asm volatile("pause");
        }
    }
    skiff::println("hello: exiting with status {}", status);
    return status;
}
