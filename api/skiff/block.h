// Block devices for applications: the kernel's block layer
// (block/block_device.h): find a device, then submit asynchronous requests
// or use the *_sync wrappers, which sleep the calling thread.
#pragma once

#include "block/block_device.h"
