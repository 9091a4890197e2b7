# Alignment padding is instructions too: each nop before a loop or label on
# the boot path is translated like any other. Code generation happens at link
# time under LTO, so the link gets these as well.
set(SKIFF_IMAGE_ALIGN_FLAGS -falign-functions=1 -falign-jumps=1 -falign-loops=1 -falign-labels=1)

# Freestanding compilation of the image (kernel layers + app). -fbuiltin
# undoes the -fno-builtin that -ffreestanding implies (as Linux does on
# x86-64): lib/freestanding implements memcpy and friends with their standard
# meaning, and a small copy of known size is then a move, not a call.
set(SKIFF_IMAGE_CXX_FLAGS
  -ffreestanding -fbuiltin -fno-exceptions -fno-rtti -fno-asynchronous-unwind-tables
  -fno-pic -fno-pie -mno-red-zone -mcmodel=small -fno-stack-protector
  -fno-omit-frame-pointer -fno-plt -fcf-protection=none -mno-tls-direct-seg-refs
  -Wall -Wextra -Wno-unused-parameter
  # Under TCG every distinct instruction the boot runs is translated once, at
  # a cost that dwarfs running it; vectorised loops (prologue, SIMD body,
  # scalar tail) triple the code of loops that run a handful of times.
  -fno-tree-vectorize
  ${SKIFF_IMAGE_ALIGN_FLAGS}
  $<$<COMPILE_LANGUAGE:CXX>:-fno-use-cxa-atexit -Wno-missing-field-initializers>)
set(SKIFF_IMAGE_LINK_SCRIPT ${SKIFF_ROOT}/arch/x86_64/image.ld)

# Link-time optimisation of kernel and app together: about a fifth fewer
# distinct instructions on the way to main (inlined one-caller helpers,
# dropped dead paths), which is what boot time under TCG is made of.
option(SKIFF_IMAGE_LTO "Build images with link-time optimisation" ON)

# skiff_app_image(<name> SOURCES <files...>)
# Builds ${SKIFF_IMAGE_DIR}/<name>.elf: the kernel plus the app's main().
function(skiff_app_image name)
  cmake_parse_arguments(APP "" "" "SOURCES" ${ARGN})
  # The kernel is shared by all apps; the app's name (argv[0]) comes with it.
  set(app_name_source ${CMAKE_CURRENT_BINARY_DIR}/${name}_app_name.cpp)
  file(WRITE ${app_name_source} "extern \"C\" {\nchar skiff_app_name[] = \"${name}\";\n}\n")
  add_executable(${name}.elf ${APP_SOURCES} ${app_name_source})
  target_compile_options(${name}.elf PRIVATE ${SKIFF_IMAGE_CXX_FLAGS})
  target_include_directories(${name}.elf PRIVATE ${SKIFF_ROOT} ${SKIFF_ROOT}/api)
  target_link_options(${name}.elf PRIVATE
    ${SKIFF_IMAGE_ALIGN_FLAGS} -nostdlib -static -no-pie -Wl,-T,${SKIFF_IMAGE_LINK_SCRIPT}
    -Wl,--build-id=none -Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -Wl,--gc-sections)
  # Whole-archive so entry points and hardware tables are never dropped.
  target_link_libraries(${name}.elf PRIVATE -Wl,--whole-archive skiff_kernel -Wl,--no-whole-archive gcc)
  set_target_properties(${name}.elf PROPERTIES
    INTERPROCEDURAL_OPTIMIZATION ${SKIFF_IMAGE_LTO}
    RUNTIME_OUTPUT_DIRECTORY ${SKIFF_IMAGE_DIR}
    LINK_DEPENDS ${SKIFF_IMAGE_LINK_SCRIPT})
endfunction()
