#include "arch/x86_64/arch.h"

namespace skiff::arch {
void power_off_acpi() {}
}
