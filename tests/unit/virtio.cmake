# virtio core, transports, virtio-blk and the block API (drivers/virtio/,
# block/), against the simulated device in tests/unit/support/virtio_sim.*.
set(SKIFF_BLOCK_SOURCES
  ${SKIFF_ROOT}/block/block_device.cpp
  ${SKIFF_ROOT}/block/registry.cpp
  ${SKIFF_ROOT}/tests/unit/block_completion_host.cpp)
set(SKIFF_VIRTIO_SOURCES
  ${SKIFF_ROOT}/drivers/virtio/transport.cpp
  ${SKIFF_ROOT}/drivers/virtio/mmio_transport.cpp
  ${SKIFF_ROOT}/drivers/virtio/pci_transport.cpp
  ${SKIFF_ROOT}/drivers/virtio/virtqueue.cpp
  ${SKIFF_ROOT}/drivers/virtio/virtio_blk.cpp
  ${SKIFF_ROOT}/tests/unit/support/virtio_sim.cpp
  ${SKIFF_BLOCK_SOURCES})
skiff_unit_test(virtio_virtqueue_test SOURCES ${SKIFF_ROOT}/tests/unit/virtio_virtqueue_test.cpp ${SKIFF_VIRTIO_SOURCES})
skiff_unit_test(virtio_transport_test SOURCES ${SKIFF_ROOT}/tests/unit/virtio_transport_test.cpp ${SKIFF_VIRTIO_SOURCES})
skiff_unit_test(virtio_blk_test SOURCES ${SKIFF_ROOT}/tests/unit/virtio_blk_test.cpp ${SKIFF_VIRTIO_SOURCES})
skiff_unit_test(block_device_test SOURCES ${SKIFF_ROOT}/tests/unit/block_device_test.cpp ${SKIFF_BLOCK_SOURCES})
