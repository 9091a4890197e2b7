#include "tools/fc-entry-loader/fw_cfg.h"

#include "lib/log.h"
#include "tools/fc-entry-loader/port_io.h"

#include <cstring>

namespace skiff::fc_loader {

namespace {

constexpr uint16_t selector_port = 0x510;
constexpr uint16_t data_port = 0x511;
constexpr uint16_t dma_high_port = 0x514;
constexpr uint16_t dma_low_port = 0x518;

constexpr uint32_t id_dma = 1u << 1;

constexpr uint32_t dma_error = 1u << 0;
constexpr uint32_t dma_read = 1u << 1;
constexpr uint32_t dma_skip = 1u << 2;
constexpr uint32_t dma_select = 1u << 3;

// Large reads go in pieces: the DMA length field is 32 bits.
constexpr uint32_t dma_chunk = 1u << 30;

constexpr size_t file_entry_size = 64;
constexpr size_t file_name_size = 56;

// The device reads this through guest memory and clears `control` when the
// transfer is done, so it must live in RAM and be re-read after each kick.
struct DmaAccess {
    uint32_t control; // all fields big-endian
    uint32_t length;
    uint64_t address;
};
alignas(16) volatile DmaAccess g_dma;

uint32_t to_be32(uint32_t v) { return __builtin_bswap32(v); }
uint64_t to_be64(uint64_t v) { return __builtin_bswap64(v); }

} // namespace

Result<FwCfg> FwCfg::probe()
{
    FwCfg bytes_only(false);
    char signature[4];
    bytes_only.byte_read(fw_cfg_key::signature, 0, reinterpret_cast<uint8_t*>(signature), sizeof(signature));
    if (std::memcmp(signature, "QEMU", 4) != 0) {
        log::error("fw_cfg: no device at port {:#x} (signature {:02x} {:02x} {:02x} {:02x})", selector_port,
            uint8_t(signature[0]), uint8_t(signature[1]), uint8_t(signature[2]), uint8_t(signature[3]));
        return Error::NotFound;
    }
    uint32_t id = 0;
    bytes_only.byte_read(fw_cfg_key::id, 0, reinterpret_cast<uint8_t*>(&id), sizeof(id));
    return FwCfg((id & id_dma) != 0);
}

Result<void> FwCfg::dma_operation(uint32_t control, uint64_t address, uint32_t length)
{
    g_dma.control = to_be32(control);
    g_dma.length = to_be32(length);
    g_dma.address = to_be64(address);
    auto descriptor = reinterpret_cast<uint64_t>(&g_dma);
    asm volatile("" ::: "memory");
    outl(dma_high_port, to_be32(static_cast<uint32_t>(descriptor >> 32)));
    // Writing the low half starts the transfer.
    outl(dma_low_port, to_be32(static_cast<uint32_t>(descriptor)));
    asm volatile("" ::: "memory");
    // QEMU completes the transfer before the write returns; the bound only
    // guards against a device that never does.
    for (uint32_t spins = 0; spins < 100000000; ++spins) {
        uint32_t status = to_be32(g_dma.control);
        if (status & dma_error)
            return Error::Io;
        if (status == 0)
            return ok();
        asm volatile("pause");
    }
    return Error::Timeout;
}

void FwCfg::byte_read(uint16_t select, uint64_t offset, uint8_t* destination, uint64_t size)
{
    outw(selector_port, select);
    for (uint64_t i = 0; i < offset; ++i)
        (void)inb(data_port);
    // One port read per byte: slow, but always available.
    asm volatile("rep insb" : "+D"(destination), "+c"(size) : "d"(data_port) : "memory");
}

Result<void> FwCfg::read(uint16_t select, uint64_t offset, uint64_t destination, uint64_t size)
{
    if (size == 0)
        return ok();
    if (m_dma) {
        Result<void> result = ok();
        uint32_t skip = static_cast<uint32_t>(offset);
        if (offset > UINT32_MAX)
            result = Error::OutOfRange;
        else
            result = dma_operation((uint32_t(select) << 16) | dma_select | dma_skip, 0, skip);
        uint64_t done = 0;
        while (result && done < size) {
            uint64_t left = size - done;
            uint32_t piece = left > dma_chunk ? dma_chunk : static_cast<uint32_t>(left);
            result = dma_operation(dma_read, destination + done, piece);
            done += piece;
        }
        if (result)
            return ok();
        log::warn("fw_cfg: DMA read of item {:#x} failed ({}); using byte I/O from now on", select,
            error_name(result.error()));
        m_dma = false;
    }
    byte_read(select, offset, physical<uint8_t>(destination), size);
    return ok();
}

Result<uint64_t> FwCfg::read_integer(uint16_t key, unsigned bytes)
{
    uint64_t value = 0;
    if (bytes > sizeof(value))
        return Error::InvalidArgument;
    TRY(read(key, 0, reinterpret_cast<uint64_t>(&value), bytes));
    return value;
}

Result<FwCfg::File> FwCfg::find(std::string_view name)
{
    uint32_t count_be = 0;
    TRY(read(fw_cfg_key::file_dir, 0, reinterpret_cast<uint64_t>(&count_be), sizeof(count_be)));
    uint32_t count = to_be32(count_be);
    // QEMU has a few dozen files at most; a huge count means a broken device.
    if (count > 4096) {
        log::error("fw_cfg: file directory claims {} entries", count);
        return Error::Corrupt;
    }
    if (name.size() >= file_name_size)
        return Error::InvalidArgument;
    for (uint32_t i = 0; i < count; ++i) {
        uint8_t entry[file_entry_size];
        TRY(read(fw_cfg_key::file_dir, 4 + uint64_t(i) * file_entry_size, reinterpret_cast<uint64_t>(entry),
            sizeof(entry)));
        const char* entry_name = reinterpret_cast<const char*>(entry + 8);
        if (std::memcmp(entry_name, name.data(), name.size()) == 0 && entry_name[name.size()] == '\0') {
            uint32_t size_be;
            uint16_t select_be;
            std::memcpy(&size_be, entry, 4);
            std::memcpy(&select_be, entry + 4, 2);
            return File { __builtin_bswap16(select_be), to_be32(size_be) };
        }
    }
    return Error::NotFound;
}

} // namespace skiff::fc_loader
