#include "bus/pci/capabilities.h"

namespace skiff::pci {

Result<uint8_t> find_capability(Function& function, uint8_t id)
{
    uint8_t found = 0;
    TRY(walk_capabilities(function, [&](uint8_t capability, uint8_t offset) {
        if (capability != id)
            return true;
        found = offset;
        return false;
    }));
    if (found == 0)
        return Error::NotFound;
    return found;
}

} // namespace skiff::pci
