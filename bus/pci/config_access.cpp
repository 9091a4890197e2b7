#include "bus/pci/config_access.h"

namespace skiff::pci {

AddressText address_text(const Address& address)
{
    static constexpr char hex[] = "0123456789abcdef";
    AddressText out {};
    auto put_hex = [&](unsigned value, int digits) {
        for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4)
            out.text[out.length++] = hex[(value >> shift) & 0xf];
    };
    if (address.segment != 0) {
        put_hex(address.segment, 4);
        out.text[out.length++] = ':';
    }
    put_hex(address.bus, 2);
    out.text[out.length++] = ':';
    put_hex(address.device, 2);
    out.text[out.length++] = '.';
    put_hex(address.function & 0xf, 1);
    return out;
}

} // namespace skiff::pci
