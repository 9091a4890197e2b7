# Boot tests of hello and of tools/skiff (QEMU under TCG). They need the
# images in ${CMAKE_BINARY_DIR}/images, so they exist only in image builds.
if(SKIFF_BUILD_IMAGE)
  foreach(case pvh_pc pvh_microvm grub_pc fc_entry exit_status args fault fault_null low_memory large_memory timeout
               boottime grub_refuses_apostrophe no_marker dry_run_fc_entry bench_script)
    skiff_boot_test(hello_${case}
      COMMAND ${Python3_EXECUTABLE} ${SKIFF_ROOT}/tests/boot/hello_test.py ${case})
  endforeach()
endif()
