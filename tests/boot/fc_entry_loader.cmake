# tools/fc-entry-loader: QEMU microvm firmware that enters a kernel the way
# Firecracker does. Its portable parts are unit-tested and fuzzed here; the
# self-test kernel (tests/boot/fc_entry_selftest) checks the entry state it
# was handed, and refusal cases check the loader's exit statuses.

# The loader is part of tools/ when images are built; boot tests need it
# either way (it only needs the host GCC).
if(NOT TARGET fc_entry_loader)
  add_subdirectory(${SKIFF_ROOT}/tools/fc-entry-loader ${CMAKE_BINARY_DIR}/tools/fc-entry-loader)
endif()

set(FC_LOADER_SRC ${SKIFF_ROOT}/tools/fc-entry-loader)
skiff_unit_test(fc_entry_loader_test SOURCES
  ${FC_LOADER_SRC}/tests/boot_tables_test.cpp
  ${FC_LOADER_SRC}/tests/elf_plan_test.cpp
  ${FC_LOADER_SRC}/boot_tables.cpp
  ${FC_LOADER_SRC}/elf_plan.cpp)
skiff_fuzz_target(fc_entry_elf_plan SOURCES
  ${FC_LOADER_SRC}/tests/elf_plan_fuzz.cpp
  ${FC_LOADER_SRC}/boot_tables.cpp
  ${FC_LOADER_SRC}/elf_plan.cpp)

set(FC_SELFTEST_DIR ${SKIFF_ROOT}/tests/boot/fc_entry_selftest)
add_executable(fc_entry_selftest_elf ${FC_SELFTEST_DIR}/entry.S ${FC_SELFTEST_DIR}/selftest.cpp)
# Entered with SSE off (CR4 = PAE only), as on Firecracker.
target_compile_options(fc_entry_selftest_elf PRIVATE
  -m64 -O2 -ffreestanding -fno-asynchronous-unwind-tables -fno-pic -fno-pie -mno-red-zone
  -mcmodel=small -mgeneral-regs-only -fno-stack-protector -fcf-protection=none -Wall -Wextra
  $<$<COMPILE_LANGUAGE:CXX>:-fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit>)
target_link_options(fc_entry_selftest_elf PRIVATE
  -nostdlib -static -no-pie -Wl,-T,${FC_SELFTEST_DIR}/selftest.ld -Wl,--build-id=none
  -Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments)
set_target_properties(fc_entry_selftest_elf PROPERTIES
  OUTPUT_NAME fc-entry-selftest.elf
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/boot
  LINK_DEPENDS ${FC_SELFTEST_DIR}/selftest.ld)

set(FC_SELFTEST_RUN ${Python3_EXECUTABLE} ${FC_SELFTEST_DIR}/run_selftest.py
  --loader ${SKIFF_IMAGE_DIR}/fc-entry-loader.bin --kernel $<TARGET_FILE:fc_entry_selftest_elf>)
skiff_boot_test(fc_entry_selftest COMMAND ${FC_SELFTEST_RUN} --group entry)
skiff_boot_test(fc_entry_loader_refusals COMMAND ${FC_SELFTEST_RUN} --group refusals)
