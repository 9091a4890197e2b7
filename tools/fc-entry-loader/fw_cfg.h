// QEMU's fw_cfg device: selector 0x510, data 0x511, DMA address 0x514/0x518.
// The DMA interface is used when the device offers it (one exit per
// transfer instead of one per byte); byte I/O otherwise, or after a DMA error.
#pragma once

#include "lib/result.h"

#include <cstdint>
#include <string_view>

namespace skiff::fc_loader {

namespace fw_cfg_key {
constexpr uint16_t signature = 0x00;
constexpr uint16_t id = 0x01;
constexpr uint16_t ram_size = 0x03;
constexpr uint16_t nb_cpus = 0x05;
constexpr uint16_t file_dir = 0x19;
} // namespace fw_cfg_key

class FwCfg {
public:
    struct File {
        uint16_t select;
        uint32_t size;
    };

    // Checks the "QEMU" signature and whether DMA is offered.
    static Result<FwCfg> probe();

    bool uses_dma() const { return m_dma; }

    // Looks `name` up in the file directory; NotFound if absent.
    Result<File> find(std::string_view name);

    // Copies `size` bytes from `offset` of item `select` to the
    // identity-mapped physical address `destination`.
    Result<void> read(uint16_t select, uint64_t offset, uint64_t destination, uint64_t size);

    // A little-endian integer item of `bytes` bytes (2, 4 or 8).
    Result<uint64_t> read_integer(uint16_t key, unsigned bytes);

private:
    explicit FwCfg(bool dma) : m_dma(dma) {}

    Result<void> dma_operation(uint32_t control, uint64_t address, uint32_t length);
    void byte_read(uint16_t select, uint64_t offset, uint8_t* destination, uint64_t size);

    bool m_dma;
};

} // namespace skiff::fc_loader
