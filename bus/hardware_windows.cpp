#include "bus/hardware_windows.h"

#include "arch/x86_64/arch.h"
#include "arch/x86_64/cpu.h"
#include "lib/log.h"

namespace skiff {

Result<void> MmioWindow::map(uint64_t physical, uint32_t size)
{
    void* mapped = TRY(arch::map_device_memory(physical, size));
    m_base = static_cast<volatile uint8_t*>(mapped);
    m_physical = physical;
    m_size = size;
    return ok();
}

uint8_t MmioWindow::read8(uint32_t offset) { return fits(offset, 1) ? m_base[offset] : 0xff; }
uint16_t MmioWindow::read16(uint32_t offset)
{
    return fits(offset, 2) ? *reinterpret_cast<volatile uint16_t*>(m_base + offset) : 0xffff;
}
uint32_t MmioWindow::read32(uint32_t offset)
{
    return fits(offset, 4) ? *reinterpret_cast<volatile uint32_t*>(m_base + offset) : 0xffffffff;
}
void MmioWindow::write8(uint32_t offset, uint8_t value)
{
    if (fits(offset, 1))
        m_base[offset] = value;
}
void MmioWindow::write16(uint32_t offset, uint16_t value)
{
    if (fits(offset, 2))
        *reinterpret_cast<volatile uint16_t*>(m_base + offset) = value;
}
void MmioWindow::write32(uint32_t offset, uint32_t value)
{
    if (fits(offset, 4))
        *reinterpret_cast<volatile uint32_t*>(m_base + offset) = value;
}

uint8_t PortWindow::read8(uint32_t offset) { return fits(offset, 1) ? x86::inb(uint16_t(m_base + offset)) : 0xff; }
uint16_t PortWindow::read16(uint32_t offset) { return fits(offset, 2) ? x86::inw(uint16_t(m_base + offset)) : 0xffff; }
uint32_t PortWindow::read32(uint32_t offset) { return fits(offset, 4) ? x86::inl(uint16_t(m_base + offset)) : 0xffffffff; }
void PortWindow::write8(uint32_t offset, uint8_t value)
{
    if (fits(offset, 1))
        x86::outb(uint16_t(m_base + offset), value);
}
void PortWindow::write16(uint32_t offset, uint16_t value)
{
    if (fits(offset, 2))
        x86::outw(uint16_t(m_base + offset), value);
}
void PortWindow::write32(uint32_t offset, uint32_t value)
{
    if (fits(offset, 4))
        x86::outl(uint16_t(m_base + offset), value);
}

} // namespace skiff
