# tools/skiff's disks (--disk on pc, microvm and fc-entry) and its Firecracker
# configuration. Dry runs checked against QEMU's own device tree: they need
# QEMU but no image, so they run in host-only builds too.
foreach(case pc_modern pc_legacy_readonly pc_transitional microvm_modern microvm_legacy fc_entry_entries
             fc_entry_slots_match_qemu fc_entry_no_disks refusals firecracker_config firecracker_config_defaults
             firecracker_config_refusals)
  skiff_boot_test(tool_disk_${case} TIMEOUT 120
    COMMAND ${Python3_EXECUTABLE} ${SKIFF_ROOT}/tests/boot/tool_disk_test.py ${case})
endforeach()
