/*
 * crc32c: the CRC-32C (Castagnoli) checksum of the journal's records (journal.c).
 *
 * The iSCSI / ext4 / LevelDB polynomial (reflected 0x82F63B78), initial value and final xor
 * ~0: crc32c("123456789") = 0xE3069283. Table-driven, slicing by 8 (about 1 byte per cycle:
 * a group of 200 records of ~80 bytes costs ~15 us less than its fdatasync by far).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/**
 * The CRC-32C of @p len bytes at @p p, continuing from @p crc (0 to start: the previous
 * call's result to continue). Any thread (the first call
 * builds the tables, once: pthread_once).
 */
uint32_t store_crc32c(uint32_t crc, const void *p, size_t len);
