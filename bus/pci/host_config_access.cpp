#include "bus/pci/host_config_access.h"

#include "arch/x86_64/arch.h"
#include "arch/x86_64/cpu.h"
#include "lib/log.h"

namespace skiff::pci {

namespace {

constexpr uint16_t address_port = 0xcf8;
constexpr uint16_t data_port = 0xcfc;
constexpr uint32_t address_enable = 1u << 31;
constexpr uint32_t port_config_size = 256;
constexpr uint32_t ecam_config_size = 4096;

uint32_t port_address(const Address& address, uint16_t offset)
{
    return address_enable | (uint32_t(address.bus) << 16) | (uint32_t(address.device) << 11)
        | (uint32_t(address.function) << 8) | (offset & 0xfc);
}

} // namespace

void HostConfigAccess::init(const EcamRegions& ecam)
{
    m_ecam = ecam;
    m_mapped = {};
    LockGuard guard(m_port_lock);
    uint32_t saved = x86::inl(address_port);
    x86::outl(address_port, address_enable);
    m_ports = x86::inl(address_port) == address_enable;
    x86::outl(address_port, saved);
}

uint32_t HostConfigAccess::config_size(const Address& address) const
{
    if (m_ecam.find(address.segment, address.bus))
        return ecam_config_size;
    return m_ports && address.segment == 0 ? port_config_size : 0;
}

volatile uint8_t* HostConfigAccess::ecam_function(const Address& address)
{
    for (size_t i = 0; i < m_ecam.count; ++i) {
        const EcamRegion& region = m_ecam.regions[i];
        if (!region.covers(address.segment, address.bus))
            continue;
        unsigned index = address.bus - region.start_bus;
        uint64_t bus_base = region.base + uint64_t(index) * ecam_bytes_per_bus;
        uint64_t bit = uint64_t(1) << (index % 64);
        {
            LockGuard guard(m_map_lock);
            if (!(m_mapped[i][index / 64] & bit)) {
                if (!arch::map_device_memory(bus_base, ecam_bytes_per_bus)) {
                    log::warn("pci: cannot map ECAM at {:#x} for bus {}", bus_base, address.bus);
                    return nullptr;
                }
                m_mapped[i][index / 64] |= bit;
            }
        }
        return reinterpret_cast<volatile uint8_t*>(bus_base + (uint64_t(address.device) << 15)
            + (uint64_t(address.function) << 12));
    }
    return nullptr;
}

void HostConfigAccess::select(const Address& address, uint16_t offset) { x86::outl(address_port, port_address(address, offset)); }

uint8_t HostConfigAccess::raw_read8(const Address& address, uint16_t offset)
{
    if (m_ecam.find(address.segment, address.bus)) {
        volatile uint8_t* function = ecam_function(address);
        return function ? function[offset] : 0xff;
    }
    LockGuard guard(m_port_lock);
    select(address, offset);
    return x86::inb(uint16_t(data_port + (offset & 3)));
}

uint16_t HostConfigAccess::raw_read16(const Address& address, uint16_t offset)
{
    if (m_ecam.find(address.segment, address.bus)) {
        volatile uint8_t* function = ecam_function(address);
        return function ? *reinterpret_cast<volatile uint16_t*>(function + offset) : 0xffff;
    }
    LockGuard guard(m_port_lock);
    select(address, offset);
    return x86::inw(uint16_t(data_port + (offset & 2)));
}

uint32_t HostConfigAccess::raw_read32(const Address& address, uint16_t offset)
{
    if (m_ecam.find(address.segment, address.bus)) {
        volatile uint8_t* function = ecam_function(address);
        return function ? *reinterpret_cast<volatile uint32_t*>(function + offset) : 0xffffffff;
    }
    LockGuard guard(m_port_lock);
    select(address, offset);
    return x86::inl(data_port);
}

void HostConfigAccess::raw_write8(const Address& address, uint16_t offset, uint8_t value)
{
    if (m_ecam.find(address.segment, address.bus)) {
        if (volatile uint8_t* function = ecam_function(address))
            function[offset] = value;
        return;
    }
    LockGuard guard(m_port_lock);
    select(address, offset);
    x86::outb(uint16_t(data_port + (offset & 3)), value);
}

void HostConfigAccess::raw_write16(const Address& address, uint16_t offset, uint16_t value)
{
    if (m_ecam.find(address.segment, address.bus)) {
        if (volatile uint8_t* function = ecam_function(address))
            *reinterpret_cast<volatile uint16_t*>(function + offset) = value;
        return;
    }
    LockGuard guard(m_port_lock);
    select(address, offset);
    x86::outw(uint16_t(data_port + (offset & 2)), value);
}

void HostConfigAccess::raw_write32(const Address& address, uint16_t offset, uint32_t value)
{
    if (m_ecam.find(address.segment, address.bus)) {
        if (volatile uint8_t* function = ecam_function(address))
            *reinterpret_cast<volatile uint32_t*>(function + offset) = value;
        return;
    }
    LockGuard guard(m_port_lock);
    select(address, offset);
    x86::outl(data_port, value);
}

} // namespace skiff::pci
