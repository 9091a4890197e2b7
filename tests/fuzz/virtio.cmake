# virtio: the virtqueue and virtio-blk against a hostile simulated device.
set(SKIFF_VIRTIO_FUZZ_SOURCES
  ${SKIFF_ROOT}/drivers/virtio/transport.cpp
  ${SKIFF_ROOT}/drivers/virtio/mmio_transport.cpp
  ${SKIFF_ROOT}/drivers/virtio/pci_transport.cpp
  ${SKIFF_ROOT}/drivers/virtio/virtqueue.cpp
  ${SKIFF_ROOT}/drivers/virtio/virtio_blk.cpp
  ${SKIFF_ROOT}/block/block_device.cpp
  ${SKIFF_ROOT}/block/registry.cpp
  ${SKIFF_ROOT}/tests/unit/block_completion_host.cpp
  ${SKIFF_ROOT}/tests/unit/support/virtio_sim.cpp)
skiff_fuzz_target(virtio_virtqueue_fuzz SOURCES ${SKIFF_ROOT}/tests/fuzz/virtio_virtqueue_fuzz.cpp ${SKIFF_VIRTIO_FUZZ_SOURCES})
skiff_fuzz_target(virtio_blk_fuzz SOURCES ${SKIFF_ROOT}/tests/fuzz/virtio_blk_fuzz.cpp ${SKIFF_VIRTIO_FUZZ_SOURCES})
