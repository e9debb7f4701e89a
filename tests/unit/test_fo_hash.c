/*
 * fo_hash against ISC: every (key, bucket, serving peer) row below was produced by running
 * reference/isc-peer/tools/lbhash.py (ISC loadb_p_hash and its `split` HBA layout) over the
 * keys, e.g. `lbhash.py 02:00:5e:12:00:05 id:01001122334455` and `lbhash.py --split 64 ...`.
 * A key "aa:bb:..." is a chaddr (hlen 6, no client-id); "id:HEX" is the contents of option 61.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include "fo_hash.h"

#define P 1	/* served by the primary */
#define S 0	/* served by the secondary */

struct vec {
	const char *key;
	unsigned bucket;
	int primary;
};

/* lbhash.py (default split 128): 256 + 64 MACs, 4 reference MACs, 81 client-identifiers. */
static const struct vec isc_vectors[] = {
	{"02:00:5e:12:00:00", 178, S},
	{"02:00:5e:12:00:01", 247, S},
	{"02:00:5e:12:00:02", 149, S},
	{"02:00:5e:12:00:03", 221, S},
	{"02:00:5e:12:00:04", 241, S},
	{"02:00:5e:12:00:05", 22, P},
	{"02:00:5e:12:00:06", 198, S},
	{"02:00:5e:12:00:07", 31, P},
	{"02:00:5e:12:00:08", 181, S},
	{"02:00:5e:12:00:09", 113, P},
	{"02:00:5e:12:00:0a", 233, S},
	{"02:00:5e:12:00:0b", 206, S},
	{"02:00:5e:12:00:0c", 246, S},
	{"02:00:5e:12:00:0d", 52, P},
	{"02:00:5e:12:00:0e", 58, P},
	{"02:00:5e:12:00:0f", 167, S},
	{"02:00:5e:12:00:10", 249, S},
	{"02:00:5e:12:00:11", 164, S},
	{"02:00:5e:12:00:12", 51, P},
	{"02:00:5e:12:00:13", 29, P},
	{"02:00:5e:12:00:14", 84, P},
	{"02:00:5e:12:00:15", 129, S},
	{"02:00:5e:12:00:16", 183, S},
	{"02:00:5e:12:00:17", 255, S},
	{"02:00:5e:12:00:18", 25, P},
	{"02:00:5e:12:00:19", 218, S},
	{"02:00:5e:12:00:1a", 39, P},
	{"02:00:5e:12:00:1b", 61, P},
	{"02:00:5e:12:00:1c", 111, P},
	{"02:00:5e:12:00:1d", 82, P},
	{"02:00:5e:12:00:1e", 234, S},
	{"02:00:5e:12:00:1f", 65, P},
	{"02:00:5e:12:00:20", 89, P},
	{"02:00:5e:12:00:21", 156, S},
	{"02:00:5e:12:00:22", 20, P},
	{"02:00:5e:12:00:23", 165, S},
	{"02:00:5e:12:00:24", 24, P},
	{"02:00:5e:12:00:25", 118, P},
	{"02:00:5e:12:00:26", 253, S},
	{"02:00:5e:12:00:27", 146, S},
	{"02:00:5e:12:00:28", 72, P},
	{"02:00:5e:12:00:29", 252, S},
	{"02:00:5e:12:00:2a", 26, P},
	{"02:00:5e:12:00:2b", 38, P},
	{"02:00:5e:12:00:2c", 231, S},
	{"02:00:5e:12:00:2d", 177, S},
	{"02:00:5e:12:00:2e", 88, P},
	{"02:00:5e:12:00:2f", 215, S},
	{"02:00:5e:12:00:30", 93, P},
	{"02:00:5e:12:00:31", 189, S},
	{"02:00:5e:12:00:32", 235, S},
	{"02:00:5e:12:00:33", 147, S},
	{"02:00:5e:12:00:34", 6, P},
	{"02:00:5e:12:00:35", 188, S},
	{"02:00:5e:12:00:36", 204, S},
	{"02:00:5e:12:00:37", 28, P},
	{"02:00:5e:12:00:38", 73, P},
	{"02:00:5e:12:00:39", 242, S},
	{"02:00:5e:12:00:3a", 123, P},
	{"02:00:5e:12:00:3b", 157, S},
	{"02:00:5e:12:00:3c", 116, P},
	{"02:00:5e:12:00:3d", 182, S},
	{"02:00:5e:12:00:3e", 33, P},
	{"02:00:5e:12:00:3f", 151, S},
	{"02:00:5e:12:00:40", 248, S},
	{"02:00:5e:12:00:41", 214, S},
	{"02:00:5e:12:00:42", 200, S},
	{"02:00:5e:12:00:43", 155, S},
	{"02:00:5e:12:00:44", 45, P},
	{"02:00:5e:12:00:45", 180, S},
	{"02:00:5e:12:00:46", 212, S},
	{"02:00:5e:12:00:47", 41, P},
	{"02:00:5e:12:00:48", 154, S},
	{"02:00:5e:12:00:49", 120, P},
	{"02:00:5e:12:00:4a", 11, P},
	{"02:00:5e:12:00:4b", 21, P},
	{"02:00:5e:12:00:4c", 74, P},
	{"02:00:5e:12:00:4d", 168, S},
	{"02:00:5e:12:00:4e", 226, S},
	{"02:00:5e:12:00:4f", 184, S},
	{"02:00:5e:12:00:50", 87, P},
	{"02:00:5e:12:00:51", 48, P},
	{"02:00:5e:12:00:52", 86, P},
	{"02:00:5e:12:00:53", 227, S},
	{"02:00:5e:12:00:54", 196, S},
	{"02:00:5e:12:00:55", 169, S},
	{"02:00:5e:12:00:56", 239, S},
	{"02:00:5e:12:00:57", 232, S},
	{"02:00:5e:12:00:58", 95, P},
	{"02:00:5e:12:00:59", 35, P},
	{"02:00:5e:12:00:5a", 117, P},
	{"02:00:5e:12:00:5b", 132, S},
	{"02:00:5e:12:00:5c", 162, S},
	{"02:00:5e:12:00:5d", 91, P},
	{"02:00:5e:12:00:5e", 68, P},
	{"02:00:5e:12:00:5f", 201, S},
	{"02:00:5e:12:00:60", 57, P},
	{"02:00:5e:12:00:61", 122, P},
	{"02:00:5e:12:00:62", 194, S},
	{"02:00:5e:12:00:63", 163, S},
	{"02:00:5e:12:00:64", 209, S},
	{"02:00:5e:12:00:65", 193, S},
	{"02:00:5e:12:00:66", 236, S},
	{"02:00:5e:12:00:67", 7, P},
	{"02:00:5e:12:00:68", 158, S},
	{"02:00:5e:12:00:69", 148, S},
	{"02:00:5e:12:00:6a", 9, P},
	{"02:00:5e:12:00:6b", 187, S},
	{"02:00:5e:12:00:6c", 125, P},
	{"02:00:5e:12:00:6d", 59, P},
	{"02:00:5e:12:00:6e", 54, P},
	{"02:00:5e:12:00:6f", 230, S},
	{"02:00:5e:12:00:70", 0, P},
	{"02:00:5e:12:00:71", 190, S},
	{"02:00:5e:12:00:72", 191, S},
	{"02:00:5e:12:00:73", 4, P},
	{"02:00:5e:12:00:74", 27, P},
	{"02:00:5e:12:00:75", 80, P},
	{"02:00:5e:12:00:76", 176, S},
	{"02:00:5e:12:00:77", 106, P},
	{"02:00:5e:12:00:78", 150, S},
	{"02:00:5e:12:00:79", 42, P},
	{"02:00:5e:12:00:7a", 251, S},
	{"02:00:5e:12:00:7b", 66, P},
	{"02:00:5e:12:00:7c", 47, P},
	{"02:00:5e:12:00:7d", 213, S},
	{"02:00:5e:12:00:7e", 179, S},
	{"02:00:5e:12:00:7f", 115, P},
	{"02:00:5e:12:00:80", 78, P},
	{"02:00:5e:12:00:81", 119, P},
	{"02:00:5e:12:00:82", 46, P},
	{"02:00:5e:12:00:83", 121, P},
	{"02:00:5e:12:00:84", 160, S},
	{"02:00:5e:12:00:85", 77, P},
	{"02:00:5e:12:00:86", 219, S},
	{"02:00:5e:12:00:87", 192, S},
	{"02:00:5e:12:00:88", 36, P},
	{"02:00:5e:12:00:89", 171, S},
	{"02:00:5e:12:00:8a", 75, P},
	{"02:00:5e:12:00:8b", 228, S},
	{"02:00:5e:12:00:8c", 174, S},
	{"02:00:5e:12:00:8d", 208, S},
	{"02:00:5e:12:00:8e", 152, S},
	{"02:00:5e:12:00:8f", 224, S},
	{"02:00:5e:12:00:90", 101, P},
	{"02:00:5e:12:00:91", 13, P},
	{"02:00:5e:12:00:92", 83, P},
	{"02:00:5e:12:00:93", 166, S},
	{"02:00:5e:12:00:94", 127, P},
	{"02:00:5e:12:00:95", 203, S},
	{"02:00:5e:12:00:96", 124, P},
	{"02:00:5e:12:00:97", 34, P},
	{"02:00:5e:12:00:98", 142, S},
	{"02:00:5e:12:00:99", 16, P},
	{"02:00:5e:12:00:9a", 49, P},
	{"02:00:5e:12:00:9b", 141, S},
	{"02:00:5e:12:00:9c", 128, S},
	{"02:00:5e:12:00:9d", 90, P},
	{"02:00:5e:12:00:9e", 3, P},
	{"02:00:5e:12:00:9f", 220, S},
	{"02:00:5e:12:00:a0", 1, P},
	{"02:00:5e:12:00:a1", 240, S},
	{"02:00:5e:12:00:a2", 172, S},
	{"02:00:5e:12:00:a3", 107, P},
	{"02:00:5e:12:00:a4", 138, S},
	{"02:00:5e:12:00:a5", 238, S},
	{"02:00:5e:12:00:a6", 71, P},
	{"02:00:5e:12:00:a7", 50, P},
	{"02:00:5e:12:00:a8", 222, S},
	{"02:00:5e:12:00:a9", 76, P},
	{"02:00:5e:12:00:aa", 97, P},
	{"02:00:5e:12:00:ab", 81, P},
	{"02:00:5e:12:00:ac", 53, P},
	{"02:00:5e:12:00:ad", 161, S},
	{"02:00:5e:12:00:ae", 186, S},
	{"02:00:5e:12:00:af", 32, P},
	{"02:00:5e:12:00:b0", 211, S},
	{"02:00:5e:12:00:b1", 44, P},
	{"02:00:5e:12:00:b2", 139, S},
	{"02:00:5e:12:00:b3", 10, P},
	{"02:00:5e:12:00:b4", 131, S},
	{"02:00:5e:12:00:b5", 56, P},
	{"02:00:5e:12:00:b6", 55, P},
	{"02:00:5e:12:00:b7", 14, P},
	{"02:00:5e:12:00:b8", 130, S},
	{"02:00:5e:12:00:b9", 229, S},
	{"02:00:5e:12:00:ba", 79, P},
	{"02:00:5e:12:00:bb", 114, P},
	{"02:00:5e:12:00:bc", 70, P},
	{"02:00:5e:12:00:bd", 99, P},
	{"02:00:5e:12:00:be", 205, S},
	{"02:00:5e:12:00:bf", 175, S},
	{"02:00:5e:12:00:c0", 195, S},
	{"02:00:5e:12:00:c1", 126, P},
	{"02:00:5e:12:00:c2", 237, S},
	{"02:00:5e:12:00:c3", 5, P},
	{"02:00:5e:12:00:c4", 17, P},
	{"02:00:5e:12:00:c5", 98, P},
	{"02:00:5e:12:00:c6", 92, P},
	{"02:00:5e:12:00:c7", 216, S},
	{"02:00:5e:12:00:c8", 37, P},
	{"02:00:5e:12:00:c9", 135, S},
	{"02:00:5e:12:00:ca", 197, S},
	{"02:00:5e:12:00:cb", 210, S},
	{"02:00:5e:12:00:cc", 250, S},
	{"02:00:5e:12:00:cd", 63, P},
	{"02:00:5e:12:00:ce", 207, S},
	{"02:00:5e:12:00:cf", 143, S},
	{"02:00:5e:12:00:d0", 173, S},
	{"02:00:5e:12:00:d1", 140, S},
	{"02:00:5e:12:00:d2", 62, P},
	{"02:00:5e:12:00:d3", 19, P},
	{"02:00:5e:12:00:d4", 243, S},
	{"02:00:5e:12:00:d5", 244, S},
	{"02:00:5e:12:00:d6", 112, P},
	{"02:00:5e:12:00:d7", 144, S},
	{"02:00:5e:12:00:d8", 96, P},
	{"02:00:5e:12:00:d9", 94, P},
	{"02:00:5e:12:00:da", 104, P},
	{"02:00:5e:12:00:db", 69, P},
	{"02:00:5e:12:00:dc", 145, S},
	{"02:00:5e:12:00:dd", 110, P},
	{"02:00:5e:12:00:de", 185, S},
	{"02:00:5e:12:00:df", 136, S},
	{"02:00:5e:12:00:e0", 108, P},
	{"02:00:5e:12:00:e1", 134, S},
	{"02:00:5e:12:00:e2", 105, P},
	{"02:00:5e:12:00:e3", 60, P},
	{"02:00:5e:12:00:e4", 103, P},
	{"02:00:5e:12:00:e5", 15, P},
	{"02:00:5e:12:00:e6", 30, P},
	{"02:00:5e:12:00:e7", 245, S},
	{"02:00:5e:12:00:e8", 254, S},
	{"02:00:5e:12:00:e9", 12, P},
	{"02:00:5e:12:00:ea", 109, P},
	{"02:00:5e:12:00:eb", 40, P},
	{"02:00:5e:12:00:ec", 202, S},
	{"02:00:5e:12:00:ed", 137, S},
	{"02:00:5e:12:00:ee", 153, S},
	{"02:00:5e:12:00:ef", 8, P},
	{"02:00:5e:12:00:f0", 43, P},
	{"02:00:5e:12:00:f1", 133, S},
	{"02:00:5e:12:00:f2", 18, P},
	{"02:00:5e:12:00:f3", 100, P},
	{"02:00:5e:12:00:f4", 64, P},
	{"02:00:5e:12:00:f5", 223, S},
	{"02:00:5e:12:00:f6", 23, P},
	{"02:00:5e:12:00:f7", 170, S},
	{"02:00:5e:12:00:f8", 199, S},
	{"02:00:5e:12:00:f9", 225, S},
	{"02:00:5e:12:00:fa", 2, P},
	{"02:00:5e:12:00:fb", 67, P},
	{"02:00:5e:12:00:fc", 159, S},
	{"02:00:5e:12:00:fd", 85, P},
	{"02:00:5e:12:00:fe", 102, P},
	{"02:00:5e:12:00:ff", 217, S},
	{"d4:1f:14:41:83:bd", 27, P},
	{"36:dd:b2:94:d1:03", 43, P},
	{"5e:18:80:87:9e:b9", 19, P},
	{"31:22:fe:09:7a:5f", 197, S},
	{"cc:3c:ac:7a:6d:75", 122, P},
	{"f8:71:0a:f5:5d:7b", 131, S},
	{"16:77:98:91:6b:f1", 7, P},
	{"34:93:d6:f2:56:57", 58, P},
	{"c7:75:44:3f:d6:2d", 79, P},
	{"3e:17:62:5c:00:f3", 247, S},
	{"68:a1:b0:f0:a8:29", 168, S},
	{"6a:47:ae:ab:b9:4f", 25, P},
	{"ae:28:dc:c2:9d:e5", 165, S},
	{"17:30:ba:94:9b:6b", 203, S},
	{"62:f6:c8:04:33:61", 89, P},
	{"77:9e:86:df:83:47", 195, S},
	{"14:b7:74:6f:a4:9d", 169, S},
	{"1f:1d:12:07:0c:e3", 33, P},
	{"7f:d6:e0:26:ed:99", 172, S},
	{"4d:f8:5e:93:94:3f", 65, P},
	{"bb:81:0c:6f:ca:55", 75, P},
	{"fd:3c:6a:37:35:5b", 215, S},
	{"25:a1:f8:2f:b6:d1", 35, P},
	{"aa:b5:36:a9:cc:37", 125, P},
	{"0e:e5:a4:27:ef:0d", 193, S},
	{"e4:ee:c2:44:f4:d3", 100, P},
	{"26:b8:10:f1:6f:09", 253, S},
	{"97:35:0e:60:0b:2f", 206, S},
	{"a7:45:3c:b8:f2:c5", 178, S},
	{"15:94:1a:6c:2b:4b", 173, S},
	{"41:79:28:ba:f6:41", 108, P},
	{"e8:d7:e6:d0:31:27", 42, P},
	{"c8:ff:d4:7f:b5:7d", 176, S},
	{"5a:8c:72:84:b8:c3", 62, P},
	{"a0:45:40:d7:2c:79", 55, P},
	{"c0:fd:be:70:1e:1f", 156, S},
	{"e4:75:6c:95:17:35", 167, S},
	{"8b:37:ca:82:7d:3b", 243, S},
	{"59:7c:58:0c:f1:b1", 206, S},
	{"0d:06:96:91:b2:17", 196, S},
	{"16:06:04:4d:f7:ed", 120, P},
	{"0a:f6:22:f5:58:b3", 99, P},
	{"ef:7e:70:1f:25:e9", 172, S},
	{"06:52:6e:e2:cd:0f", 200, S},
	{"a6:11:9c:bb:37:a5", 244, S},
	{"49:27:7a:89:2b:2b", 65, P},
	{"d0:ab:88:4c:a9:21", 34, P},
	{"b2:41:46:ed:4f:07", 96, P},
	{"88:f8:34:29:b6:5d", 194, S},
	{"41:2b:d2:85:d4:a3", 85, P},
	{"d7:63:a0:d0:5b:59", 190, S},
	{"62:33:1e:97:17:ff", 251, S},
	{"df:19:cc:a2:54:15", 71, P},
	{"fa:63:2a:4f:35:1b", 92, P},
	{"ca:06:b8:61:1c:91", 72, P},
	{"33:87:f6:a2:07:f7", 178, S},
	{"74:d6:64:69:f0:cd", 235, S},
	{"08:2d:82:e5:2c:93", 201, S},
	{"da:f4:d0:b1:cc:c9", 194, S},
	{"8f:9f:ce:2b:fe:ef", 111, P},
	{"42:8d:fc:81:6c:85", 144, S},
	{"09:ea:da:63:9b:0b", 85, P},
	{"28:8d:e8:f1:4c:01", 141, S},
	{"ab:da:a6:2e:dc:e7", 220, S},
	{"00:00:00:00:00:00", 254, S},
	{"ff:ff:ff:ff:ff:ff", 79, P},
	{"00:11:22:33:44:55", 135, S},
	{"00:01:02:03:04:05", 161, S},
	{"id:0102005e120000", 37, P},
	{"id:0102005e120006", 57, P},
	{"id:0102005e12000c", 46, P},
	{"id:0102005e120012", 220, S},
	{"id:0102005e120018", 54, P},
	{"id:0102005e12001e", 40, P},
	{"id:0102005e120024", 150, S},
	{"id:0102005e12002a", 196, S},
	{"id:0102005e120030", 194, S},
	{"id:0102005e120036", 90, P},
	{"id:0102005e12003c", 66, P},
	{"id:0102005e120042", 187, S},
	{"id:0102005e120048", 142, S},
	{"id:0102005e12004e", 52, P},
	{"id:0102005e120054", 87, P},
	{"id:0102005e12005a", 201, S},
	{"id:0102005e120060", 115, P},
	{"id:0102005e120066", 79, P},
	{"id:0102005e12006c", 123, P},
	{"id:0102005e120072", 14, P},
	{"id:0102005e120078", 95, P},
	{"id:0102005e12007e", 43, P},
	{"id:0102005e120084", 29, P},
	{"id:0102005e12008a", 129, S},
	{"id:0102005e120090", 186, S},
	{"id:0102005e120096", 140, S},
	{"id:0102005e12009c", 77, P},
	{"id:0102005e1200a2", 227, S},
	{"id:0102005e1200a8", 108, P},
	{"id:0102005e1200ae", 3, P},
	{"id:0102005e1200b4", 30, P},
	{"id:0102005e1200ba", 225, S},
	{"id:0102005e1200c0", 105, P},
	{"id:0102005e1200c6", 135, S},
	{"id:0102005e1200cc", 97, P},
	{"id:0102005e1200d2", 55, P},
	{"id:0102005e1200d8", 5, P},
	{"id:0102005e1200de", 158, S},
	{"id:0102005e1200e4", 0, P},
	{"id:0102005e1200ea", 243, S},
	{"id:0102005e1200f0", 192, S},
	{"id:0102005e1200f6", 117, P},
	{"id:0102005e1200fc", 74, P},
	{"id:25", 111, P},
	{"id:4a55", 164, S},
	{"id:6f7a85", 41, P},
	{"id:949faab5", 178, S},
	{"id:b9c4cfdae5", 182, S},
	{"id:dee9f4ff0a15", 93, P},
	{"id:030e19242f3a45", 9, P},
	{"id:28333e49545f6a75", 212, S},
	{"id:4d58636e79848f9aa5", 193, S},
	{"id:727d88939ea9b4bfcad5", 158, S},
	{"id:97a2adb8c3ced9e4effa05", 67, P},
	{"id:bcc7d2dde8f3fe09141f2a35", 187, S},
	{"id:e1ecf7020d18232e39444f5a65", 140, S},
	{"id:06111c27323d48535e69747f8a95", 226, S},
	{"id:2b36414c57626d78838e99a4afbac5", 220, S},
	{"id:505b66717c87929da8b3bec9d4dfeaf5", 190, S},
	{"id:75808b96a1acb7c2cdd8e3eef9040f1a25", 116, P},
	{"id:9aa5b0bbc6d1dce7f2fd08131e29343f4a55", 224, S},
	{"id:bfcad5e0ebf6010c17222d38434e59646f7a85", 185, S},
	{"id:e4effa05101b26313c47525d68737e89949faab5", 149, S},
	{"id:09141f2a35404b56616c77828d98a3aeb9c4cfdae5", 116, P},
	{"id:2e39444f5a65707b86919ca7b2bdc8d3dee9f4ff0a15", 183, S},
	{"id:535e69747f8a95a0abb6c1ccd7e2edf8030e19242f3a45", 238, S},
	{"id:78838e99a4afbac5d0dbe6f1fc07121d28333e49545f6a75", 74, P},
	{"id:9da8b3bec9d4dfeaf5000b16212c37424d58636e79848f9aa5", 111, P},
	{"id:c2cdd8e3eef9040f1a25303b46515c67727d88939ea9b4bfcad5", 227, S},
	{"id:e7f2fd08131e29343f4a55606b76818c97a2adb8c3ced9e4effa05", 119, P},
	{"id:0c17222d38434e59646f7a85909ba6b1bcc7d2dde8f3fe09141f2a35", 101, P},
	{"id:313c47525d68737e89949faab5c0cbd6e1ecf7020d18232e39444f5a65", 189, S},
	{"id:56616c77828d98a3aeb9c4cfdae5f0fb06111c27323d48535e69747f8a95", 6, P},
	{"id:7b86919ca7b2bdc8d3dee9f4ff0a15202b36414c57626d78838e99a4afbac5", 79, P},
	{"id:a0abb6c1ccd7e2edf8030e19242f3a45505b66717c87929da8b3bec9d4dfeaf5", 54, P},
	{"id:00686f73742d61", 80, P},
	{"id:007072696e7465723031", 161, S},
	{"id:006c6170746f702e6578616d706c652e6f7267", 154, S},
	{"id:00707865", 77, P},
	{"id:01001122334455", 223, S},
	{"id:ff00000001000100012a3b4c5d020000005e1200ff", 201, S},
};

struct split_vec {
	unsigned split;
	const char *key;
	unsigned bucket;
	int primary;
};

/* lbhash.py --split N for N in 0 1 64 127 128 129 200 255 256, 24 keys each. */
static const struct split_vec split_vectors[] = {
	{0, "02:00:5e:12:00:00", 178, S},
	{0, "02:00:5e:12:00:01", 247, S},
	{0, "02:00:5e:12:00:02", 149, S},
	{0, "02:00:5e:12:00:03", 221, S},
	{0, "02:00:5e:12:00:04", 241, S},
	{0, "02:00:5e:12:00:05", 22, S},
	{0, "02:00:5e:12:00:06", 198, S},
	{0, "02:00:5e:12:00:07", 31, S},
	{0, "d4:1f:14:41:83:bd", 27, S},
	{0, "36:dd:b2:94:d1:03", 43, S},
	{0, "5e:18:80:87:9e:b9", 19, S},
	{0, "31:22:fe:09:7a:5f", 197, S},
	{0, "cc:3c:ac:7a:6d:75", 122, S},
	{0, "f8:71:0a:f5:5d:7b", 131, S},
	{0, "16:77:98:91:6b:f1", 7, S},
	{0, "34:93:d6:f2:56:57", 58, S},
	{0, "id:0102005e120000", 37, S},
	{0, "id:0102005e120006", 57, S},
	{0, "id:0102005e12000c", 46, S},
	{0, "id:0102005e120012", 220, S},
	{0, "id:0102005e120018", 54, S},
	{0, "id:0102005e12001e", 40, S},
	{0, "id:0102005e120024", 150, S},
	{0, "id:0102005e12002a", 196, S},
	{1, "02:00:5e:12:00:00", 178, S},
	{1, "02:00:5e:12:00:01", 247, S},
	{1, "02:00:5e:12:00:02", 149, S},
	{1, "02:00:5e:12:00:03", 221, S},
	{1, "02:00:5e:12:00:04", 241, S},
	{1, "02:00:5e:12:00:05", 22, S},
	{1, "02:00:5e:12:00:06", 198, S},
	{1, "02:00:5e:12:00:07", 31, S},
	{1, "d4:1f:14:41:83:bd", 27, S},
	{1, "36:dd:b2:94:d1:03", 43, S},
	{1, "5e:18:80:87:9e:b9", 19, S},
	{1, "31:22:fe:09:7a:5f", 197, S},
	{1, "cc:3c:ac:7a:6d:75", 122, S},
	{1, "f8:71:0a:f5:5d:7b", 131, S},
	{1, "16:77:98:91:6b:f1", 7, S},
	{1, "34:93:d6:f2:56:57", 58, S},
	{1, "id:0102005e120000", 37, S},
	{1, "id:0102005e120006", 57, S},
	{1, "id:0102005e12000c", 46, S},
	{1, "id:0102005e120012", 220, S},
	{1, "id:0102005e120018", 54, S},
	{1, "id:0102005e12001e", 40, S},
	{1, "id:0102005e120024", 150, S},
	{1, "id:0102005e12002a", 196, S},
	{64, "02:00:5e:12:00:00", 178, S},
	{64, "02:00:5e:12:00:01", 247, S},
	{64, "02:00:5e:12:00:02", 149, S},
	{64, "02:00:5e:12:00:03", 221, S},
	{64, "02:00:5e:12:00:04", 241, S},
	{64, "02:00:5e:12:00:05", 22, P},
	{64, "02:00:5e:12:00:06", 198, S},
	{64, "02:00:5e:12:00:07", 31, P},
	{64, "d4:1f:14:41:83:bd", 27, P},
	{64, "36:dd:b2:94:d1:03", 43, P},
	{64, "5e:18:80:87:9e:b9", 19, P},
	{64, "31:22:fe:09:7a:5f", 197, S},
	{64, "cc:3c:ac:7a:6d:75", 122, S},
	{64, "f8:71:0a:f5:5d:7b", 131, S},
	{64, "16:77:98:91:6b:f1", 7, P},
	{64, "34:93:d6:f2:56:57", 58, P},
	{64, "id:0102005e120000", 37, P},
	{64, "id:0102005e120006", 57, P},
	{64, "id:0102005e12000c", 46, P},
	{64, "id:0102005e120012", 220, S},
	{64, "id:0102005e120018", 54, P},
	{64, "id:0102005e12001e", 40, P},
	{64, "id:0102005e120024", 150, S},
	{64, "id:0102005e12002a", 196, S},
	{127, "02:00:5e:12:00:00", 178, S},
	{127, "02:00:5e:12:00:01", 247, S},
	{127, "02:00:5e:12:00:02", 149, S},
	{127, "02:00:5e:12:00:03", 221, S},
	{127, "02:00:5e:12:00:04", 241, S},
	{127, "02:00:5e:12:00:05", 22, P},
	{127, "02:00:5e:12:00:06", 198, S},
	{127, "02:00:5e:12:00:07", 31, P},
	{127, "d4:1f:14:41:83:bd", 27, P},
	{127, "36:dd:b2:94:d1:03", 43, P},
	{127, "5e:18:80:87:9e:b9", 19, P},
	{127, "31:22:fe:09:7a:5f", 197, S},
	{127, "cc:3c:ac:7a:6d:75", 122, P},
	{127, "f8:71:0a:f5:5d:7b", 131, S},
	{127, "16:77:98:91:6b:f1", 7, P},
	{127, "34:93:d6:f2:56:57", 58, P},
	{127, "id:0102005e120000", 37, P},
	{127, "id:0102005e120006", 57, P},
	{127, "id:0102005e12000c", 46, P},
	{127, "id:0102005e120012", 220, S},
	{127, "id:0102005e120018", 54, P},
	{127, "id:0102005e12001e", 40, P},
	{127, "id:0102005e120024", 150, S},
	{127, "id:0102005e12002a", 196, S},
	{128, "02:00:5e:12:00:00", 178, S},
	{128, "02:00:5e:12:00:01", 247, S},
	{128, "02:00:5e:12:00:02", 149, S},
	{128, "02:00:5e:12:00:03", 221, S},
	{128, "02:00:5e:12:00:04", 241, S},
	{128, "02:00:5e:12:00:05", 22, P},
	{128, "02:00:5e:12:00:06", 198, S},
	{128, "02:00:5e:12:00:07", 31, P},
	{128, "d4:1f:14:41:83:bd", 27, P},
	{128, "36:dd:b2:94:d1:03", 43, P},
	{128, "5e:18:80:87:9e:b9", 19, P},
	{128, "31:22:fe:09:7a:5f", 197, S},
	{128, "cc:3c:ac:7a:6d:75", 122, P},
	{128, "f8:71:0a:f5:5d:7b", 131, S},
	{128, "16:77:98:91:6b:f1", 7, P},
	{128, "34:93:d6:f2:56:57", 58, P},
	{128, "id:0102005e120000", 37, P},
	{128, "id:0102005e120006", 57, P},
	{128, "id:0102005e12000c", 46, P},
	{128, "id:0102005e120012", 220, S},
	{128, "id:0102005e120018", 54, P},
	{128, "id:0102005e12001e", 40, P},
	{128, "id:0102005e120024", 150, S},
	{128, "id:0102005e12002a", 196, S},
	{129, "02:00:5e:12:00:00", 178, S},
	{129, "02:00:5e:12:00:01", 247, S},
	{129, "02:00:5e:12:00:02", 149, S},
	{129, "02:00:5e:12:00:03", 221, S},
	{129, "02:00:5e:12:00:04", 241, S},
	{129, "02:00:5e:12:00:05", 22, P},
	{129, "02:00:5e:12:00:06", 198, S},
	{129, "02:00:5e:12:00:07", 31, P},
	{129, "d4:1f:14:41:83:bd", 27, P},
	{129, "36:dd:b2:94:d1:03", 43, P},
	{129, "5e:18:80:87:9e:b9", 19, P},
	{129, "31:22:fe:09:7a:5f", 197, S},
	{129, "cc:3c:ac:7a:6d:75", 122, P},
	{129, "f8:71:0a:f5:5d:7b", 131, S},
	{129, "16:77:98:91:6b:f1", 7, P},
	{129, "34:93:d6:f2:56:57", 58, P},
	{129, "id:0102005e120000", 37, P},
	{129, "id:0102005e120006", 57, P},
	{129, "id:0102005e12000c", 46, P},
	{129, "id:0102005e120012", 220, S},
	{129, "id:0102005e120018", 54, P},
	{129, "id:0102005e12001e", 40, P},
	{129, "id:0102005e120024", 150, S},
	{129, "id:0102005e12002a", 196, S},
	{200, "02:00:5e:12:00:00", 178, P},
	{200, "02:00:5e:12:00:01", 247, S},
	{200, "02:00:5e:12:00:02", 149, P},
	{200, "02:00:5e:12:00:03", 221, S},
	{200, "02:00:5e:12:00:04", 241, S},
	{200, "02:00:5e:12:00:05", 22, P},
	{200, "02:00:5e:12:00:06", 198, P},
	{200, "02:00:5e:12:00:07", 31, P},
	{200, "d4:1f:14:41:83:bd", 27, P},
	{200, "36:dd:b2:94:d1:03", 43, P},
	{200, "5e:18:80:87:9e:b9", 19, P},
	{200, "31:22:fe:09:7a:5f", 197, P},
	{200, "cc:3c:ac:7a:6d:75", 122, P},
	{200, "f8:71:0a:f5:5d:7b", 131, P},
	{200, "16:77:98:91:6b:f1", 7, P},
	{200, "34:93:d6:f2:56:57", 58, P},
	{200, "id:0102005e120000", 37, P},
	{200, "id:0102005e120006", 57, P},
	{200, "id:0102005e12000c", 46, P},
	{200, "id:0102005e120012", 220, S},
	{200, "id:0102005e120018", 54, P},
	{200, "id:0102005e12001e", 40, P},
	{200, "id:0102005e120024", 150, P},
	{200, "id:0102005e12002a", 196, P},
	{255, "02:00:5e:12:00:00", 178, P},
	{255, "02:00:5e:12:00:01", 247, P},
	{255, "02:00:5e:12:00:02", 149, P},
	{255, "02:00:5e:12:00:03", 221, P},
	{255, "02:00:5e:12:00:04", 241, P},
	{255, "02:00:5e:12:00:05", 22, P},
	{255, "02:00:5e:12:00:06", 198, P},
	{255, "02:00:5e:12:00:07", 31, P},
	{255, "d4:1f:14:41:83:bd", 27, P},
	{255, "36:dd:b2:94:d1:03", 43, P},
	{255, "5e:18:80:87:9e:b9", 19, P},
	{255, "31:22:fe:09:7a:5f", 197, P},
	{255, "cc:3c:ac:7a:6d:75", 122, P},
	{255, "f8:71:0a:f5:5d:7b", 131, P},
	{255, "16:77:98:91:6b:f1", 7, P},
	{255, "34:93:d6:f2:56:57", 58, P},
	{255, "id:0102005e120000", 37, P},
	{255, "id:0102005e120006", 57, P},
	{255, "id:0102005e12000c", 46, P},
	{255, "id:0102005e120012", 220, P},
	{255, "id:0102005e120018", 54, P},
	{255, "id:0102005e12001e", 40, P},
	{255, "id:0102005e120024", 150, P},
	{255, "id:0102005e12002a", 196, P},
	{256, "02:00:5e:12:00:00", 178, P},
	{256, "02:00:5e:12:00:01", 247, P},
	{256, "02:00:5e:12:00:02", 149, P},
	{256, "02:00:5e:12:00:03", 221, P},
	{256, "02:00:5e:12:00:04", 241, P},
	{256, "02:00:5e:12:00:05", 22, P},
	{256, "02:00:5e:12:00:06", 198, P},
	{256, "02:00:5e:12:00:07", 31, P},
	{256, "d4:1f:14:41:83:bd", 27, P},
	{256, "36:dd:b2:94:d1:03", 43, P},
	{256, "5e:18:80:87:9e:b9", 19, P},
	{256, "31:22:fe:09:7a:5f", 197, P},
	{256, "cc:3c:ac:7a:6d:75", 122, P},
	{256, "f8:71:0a:f5:5d:7b", 131, P},
	{256, "16:77:98:91:6b:f1", 7, P},
	{256, "34:93:d6:f2:56:57", 58, P},
	{256, "id:0102005e120000", 37, P},
	{256, "id:0102005e120006", 57, P},
	{256, "id:0102005e12000c", 46, P},
	{256, "id:0102005e120012", 220, P},
	{256, "id:0102005e120018", 54, P},
	{256, "id:0102005e12001e", 40, P},
	{256, "id:0102005e120024", 150, P},
	{256, "id:0102005e12002a", 196, P},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A key as lbhash.py takes it: "aa:bb:cc:dd:ee:ff" (chaddr) or "id:HEX" (client-id). */
struct key {
	uint8_t b[64];
	size_t len;
	bool client_id;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

static void parse_key(const char *s, struct key *k)
{
	memset(k, 0, sizeof(*k));
	if (strncmp(s, "id:", 3) == 0) {
		k->client_id = true;
		s += 3;
	}
	while (*s) {
		int hi, lo;

		if (*s == ':') {
			s++;
			continue;
		}
		hi = hexval(s[0]);
		lo = hexval(s[1]);
		assert_true(hi >= 0 && lo >= 0);
		assert_true(k->len < sizeof(k->b));
		k->b[k->len++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
}

static uint8_t bucket_of(const struct key *k)
{
	uint8_t chaddr[16] = {0};

	if (k->client_id) {
		/* The client's chaddr must not matter when option 61 is present. */
		memset(chaddr, 0x5a, sizeof(chaddr));
		return fo_hash_client_bucket(k->b, k->len, chaddr, 6);
	}
	memcpy(chaddr, k->b, k->len);
	return fo_hash_client_bucket(NULL, 0, chaddr, k->len);
}

static struct fo_hash_client client_of(const struct key *k, uint8_t chaddr[16], uint16_t secs)
{
	struct fo_hash_client c = {.chaddr = chaddr, .hlen = 6, .secs = secs};

	memset(chaddr, 0, 16);
	if (k->client_id) {
		c.client_id = k->b;
		c.client_id_len = k->len;
	} else {
		memcpy(chaddr, k->b, k->len);
		c.hlen = k->len;
	}
	return c;
}

static void test_isc_vectors(void **state)
{
	uint8_t hba[FO_HASH_HBA_SIZE], chaddr[16];
	size_t i;

	(void)state;
	fo_hash_hba_from_split(hba, 128);
	for (i = 0; i < N_OF(isc_vectors); i++) {
		const struct vec *v = &isc_vectors[i];
		struct key k;
		struct fo_hash_client c;

		parse_key(v->key, &k);
		c = client_of(&k, chaddr, 0);
		if (bucket_of(&k) != v->bucket) {
			fail_msg("%s: bucket %u, ISC %u", v->key, bucket_of(&k), v->bucket);
		}
		assert_int_equal(fo_hash_bucket(k.b, k.len), v->bucket);
		assert_int_equal(fo_hash_hba_primary(hba, (uint8_t)v->bucket), v->primary);
		assert_int_equal(fo_hash_mine(hba, FO_ROLE_PRIMARY, FO_HASH_MAX_SECS_NEVER, &c),
				 v->primary);
		assert_int_equal(fo_hash_mine(hba, FO_ROLE_SECONDARY, FO_HASH_MAX_SECS_NEVER, &c),
				 !v->primary);
	}
	assert_int_equal(N_OF(isc_vectors), 405);
}

/* reference/isc-peer/README.md §2: the two lab clients, verified on the wire. */
static void test_lab_clients(void **state)
{
	static const uint8_t c1[16] = {0x02, 0x00, 0x5e, 0x12, 0x00, 0x05};
	static const uint8_t c2[16] = {0x02, 0x00, 0x5e, 0x12, 0x00, 0x01};
	uint8_t hba[FO_HASH_HBA_SIZE];
	struct fo_hash_client a = {.chaddr = c1, .hlen = 6}, b = {.chaddr = c2, .hlen = 6};

	(void)state;
	fo_hash_hba_from_split(hba, 128);
	assert_int_equal(fo_hash_client_bucket(NULL, 0, c1, 6), 22);
	assert_int_equal(fo_hash_client_bucket(NULL, 0, c2, 6), 247);
	assert_true(fo_hash_mine(hba, FO_ROLE_PRIMARY, 3, &a));
	assert_false(fo_hash_mine(hba, FO_ROLE_SECONDARY, 3, &a));
	assert_false(fo_hash_mine(hba, FO_ROLE_PRIMARY, 3, &b));
	assert_true(fo_hash_mine(hba, FO_ROLE_SECONDARY, 3, &b));
}

/* failover-protocol.md §13 regression values (also what lbhash.py prints). */
static void test_reference_table(void **state)
{
	static const struct {
		const char *hex;
		unsigned hash;
	} t[] = {
		{"000000000000", 254}, {"ffffffffffff", 79}, {"001122334455", 135},
		{"000102030405", 161}, {"01001122334455", 223}, {"", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(t); i++) {
		struct key k;

		parse_key(t[i].hex, &k);
		assert_int_equal(fo_hash_bucket(k.len ? k.b : NULL, k.len), t[i].hash);
	}
}

static void test_split_vectors(void **state)
{
	uint8_t hba[FO_HASH_HBA_SIZE], chaddr[16];
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(split_vectors); i++) {
		const struct split_vec *v = &split_vectors[i];
		struct key k;
		struct fo_hash_client c;

		fo_hash_hba_from_split(hba, v->split);
		parse_key(v->key, &k);
		c = client_of(&k, chaddr, 0);
		assert_int_equal(bucket_of(&k), v->bucket);
		if (fo_hash_mine(hba, FO_ROLE_PRIMARY, FO_HASH_MAX_SECS_NEVER, &c) != v->primary) {
			fail_msg("split %u %s: primary serves %d, ISC %d", v->split, v->key,
				 !v->primary, v->primary);
		}
		assert_int_equal(fo_hash_mine(hba, FO_ROLE_SECONDARY, FO_HASH_MAX_SECS_NEVER, &c),
				 !v->primary);
	}
	assert_int_equal(N_OF(split_vectors), 216);
}

/* ISC confpars.c `split N`: bits 0..N-1, LSB first in each byte; the CONNECT capture carries
 * ff x16, 00 x16 for split 128. */
static void test_hba_layout(void **state)
{
	uint8_t hba[FO_HASH_HBA_SIZE], want[FO_HASH_HBA_SIZE];
	unsigned b;

	(void)state;
	fo_hash_hba_from_split(hba, 128);
	memset(want, 0xff, 16);
	memset(want + 16, 0, 16);
	assert_memory_equal(hba, want, sizeof(want));
	assert_int_equal(fo_hash_hba_count(hba), 128);

	fo_hash_hba_from_split(hba, 0);
	memset(want, 0, sizeof(want));
	assert_memory_equal(hba, want, sizeof(want));
	assert_int_equal(fo_hash_hba_count(hba), 0);

	fo_hash_hba_from_split(hba, 9);
	want[0] = 0xff;
	want[1] = 0x01;
	assert_memory_equal(hba, want, sizeof(want));

	fo_hash_hba_from_split(hba, 3);
	assert_int_equal(hba[0], 0x07);
	assert_true(fo_hash_hba_primary(hba, 2));
	assert_false(fo_hash_hba_primary(hba, 3));

	fo_hash_hba_from_split(hba, 256);
	memset(want, 0xff, sizeof(want));
	assert_memory_equal(hba, want, sizeof(want));
	fo_hash_hba_from_split(hba, 1000);
	assert_memory_equal(hba, want, sizeof(want));
	assert_int_equal(fo_hash_hba_count(hba), 256);

	for (b = 0; b <= 256; b += 37) {
		fo_hash_hba_from_split(hba, b);
		assert_int_equal(fo_hash_hba_count(hba), b);
	}
}

/* ISC load_balance_mine: "if (state->load_balance_max_secs < ec) return 1". */
static void test_max_seconds(void **state)
{
	/* bucket 247: the secondary's under split 128 */
	static const uint8_t mac[16] = {0x02, 0x00, 0x5e, 0x12, 0x00, 0x01};
	uint8_t hba[FO_HASH_HBA_SIZE];
	struct fo_hash_client c = {.chaddr = mac, .hlen = 6};

	(void)state;
	fo_hash_hba_from_split(hba, 128);
	c.secs = 0;
	assert_false(fo_hash_mine(hba, FO_ROLE_PRIMARY, 3, &c));
	c.secs = 3;	/* equal to the limit: still balanced */
	assert_false(fo_hash_mine(hba, FO_ROLE_PRIMARY, 3, &c));
	c.secs = 4;	/* beyond it: both answer */
	assert_true(fo_hash_mine(hba, FO_ROLE_PRIMARY, 3, &c));
	assert_true(fo_hash_mine(hba, FO_ROLE_SECONDARY, 3, &c));
	c.secs = 1;	/* a limit of 0: every retransmission is answered */
	assert_true(fo_hash_mine(hba, FO_ROLE_PRIMARY, 0, &c));
	c.secs = 0;
	assert_false(fo_hash_mine(hba, FO_ROLE_PRIMARY, 0, &c));
	c.secs = 65535;
	assert_false(fo_hash_mine(hba, FO_ROLE_PRIMARY, FO_HASH_MAX_SECS_NEVER, &c));
	assert_true(fo_hash_mine(hba, FO_ROLE_PRIMARY, 65534, &c));

	/* ISC: no HBA -> not ours, unless the client waited too long. */
	c.secs = 0;
	assert_false(fo_hash_mine(NULL, FO_ROLE_PRIMARY, 3, &c));
	assert_false(fo_hash_mine(NULL, FO_ROLE_SECONDARY, 3, &c));
	c.secs = 10;
	assert_true(fo_hash_mine(NULL, FO_ROLE_SECONDARY, 3, &c));
}

static void test_key_choice(void **state)
{
	static const uint8_t id[] = {0x01, 0x02, 0x00, 0x5e, 0x12, 0x00, 0x05};
	uint8_t chaddr[16] = {0x02, 0x00, 0x5e, 0x12, 0x00, 0x05};
	uint8_t longer[16];

	(void)state;
	/* option 61 wins over chaddr */
	assert_int_equal(fo_hash_client_bucket(id, sizeof(id), chaddr, 6),
			 fo_hash_bucket(id, sizeof(id)));
	assert_int_not_equal(fo_hash_client_bucket(id, sizeof(id), chaddr, 6),
			     fo_hash_client_bucket(NULL, 0, chaddr, 6));
	/* an empty option 61 falls back to chaddr (ISC would hash it to bucket 0) */
	assert_int_equal(fo_hash_client_bucket(id, 0, chaddr, 6), 22);
	/* htype is not part of the key; hlen > 16 is clamped to the chaddr field */
	memset(longer, 0xa5, sizeof(longer));
	assert_int_equal(fo_hash_client_bucket(NULL, 0, longer, 200),
			 fo_hash_client_bucket(NULL, 0, longer, 16));
	assert_int_equal(fo_hash_client_bucket(NULL, 0, chaddr, 0), 0);
}

/* ISC peer_wants_lease is the inverse of load_balance_mine when an HBA exists. */
static void test_partner_wants(void **state)
{
	uint8_t hba[FO_HASH_HBA_SIZE], chaddr[16];
	size_t i;

	(void)state;
	fo_hash_hba_from_split(hba, 128);
	for (i = 0; i < N_OF(isc_vectors); i++) {
		struct key k;
		struct fo_hash_client c;

		parse_key(isc_vectors[i].key, &k);
		c = client_of(&k, chaddr, 0);
		assert_int_equal(fo_hash_partner_wants(hba, FO_ROLE_PRIMARY, c.client_id,
						       c.client_id_len, c.chaddr, c.hlen),
				 !isc_vectors[i].primary);
		assert_int_equal(fo_hash_partner_wants(hba, FO_ROLE_SECONDARY, c.client_id,
						       c.client_id_len, c.chaddr, c.hlen),
				 isc_vectors[i].primary);
	}
	memset(chaddr, 1, sizeof(chaddr));
	assert_false(fo_hash_partner_wants(NULL, FO_ROLE_PRIMARY, NULL, 0, chaddr, 6));
	assert_false(fo_hash_partner_wants(hba, FO_ROLE_PRIMARY, NULL, 0, chaddr, 0));
}

/* RFC 3074: the mixing table is a permutation, so one-byte keys hit every bucket once, and a
 * split of 128 shares random MACs evenly (failover-protocol.md §13: 50.0 %). */
static void test_distribution(void **state)
{
	unsigned seen[256] = {0}, low = 0, i;
	uint32_t x = 12345;

	(void)state;
	for (i = 0; i < 256; i++) {
		uint8_t k = (uint8_t)i;

		seen[fo_hash_bucket(&k, 1)]++;
	}
	for (i = 0; i < 256; i++) {
		assert_int_equal(seen[i], 1);
	}
	for (i = 0; i < 100000; i++) {
		uint8_t mac[6];
		unsigned j;

		for (j = 0; j < 6; j++) {
			x = x * 1103515245u + 12345u;
			mac[j] = (uint8_t)(x >> 16);
		}
		low += fo_hash_bucket(mac, 6) < 128;
	}
	assert_in_range(low, 49000, 51000);
}

/*
 * Issue 12 item 5: a load-balance percent anywhere from 0 to 100, from either side. The HBA
 * built from this server's percent gives it round(p * 256 / 100) buckets, the partner the
 * rest; at 0 % this server answers no new client and at 100 % every one, whichever role it
 * has, and the partner's HBA view (the same HBA, other role) answers exactly the others.
 */
static void test_percent_split(void **state)
{
	static const enum fo_role roles[] = { FO_ROLE_PRIMARY, FO_ROLE_SECONDARY };
	uint8_t hba[FO_HASH_HBA_SIZE];
	uint8_t chaddr[16] = { 0 };
	unsigned p, r, b;
	uint32_t x = 777;

	(void)state;
	for (r = 0; r < 2; r++) {
		enum fo_role me = roles[r];
		enum fo_role partner = me == FO_ROLE_PRIMARY ? FO_ROLE_SECONDARY : FO_ROLE_PRIMARY;
		unsigned prev = 0;

		for (p = 0; p <= 100; p++) {
			unsigned mine = 0, split = fo_hash_split_from_percent(me, p);

			assert_true(split <= 256);
			fo_hash_hba_from_split(hba, split);
			assert_int_equal(fo_hash_hba_count(hba), split);
			for (b = 0; b < 256; b++) {
				bool prim = fo_hash_hba_primary(hba, (uint8_t)b);

				mine += me == FO_ROLE_PRIMARY ? prim : !prim;
			}
			assert_int_equal(mine, (p * 256 + 50) / 100);
			assert_true(mine >= prev);	/* more percent, never fewer buckets */
			prev = mine;
			/* The partner's share from its own percent is the same HBA. */
			assert_int_equal(fo_hash_split_from_percent(partner, 100 - p), split);
			/* Clients: each answered by exactly one side; none / all at the ends. */
			for (unsigned i = 0; i < 2000; i++) {
				struct fo_hash_client c = { .chaddr = chaddr, .hlen = 6 };
				bool a, o;

				for (unsigned j = 0; j < 6; j++) {
					x = x * 1103515245u + 12345u;
					chaddr[j] = (uint8_t)(x >> 16);
				}
				a = fo_hash_mine(hba, me, FO_HASH_MAX_SECS_NEVER, &c);
				o = fo_hash_mine(hba, partner, FO_HASH_MAX_SECS_NEVER, &c);
				assert_true(a != o);
				if (p == 0) {
					assert_false(a);
				}
				if (p == 100) {
					assert_true(a);
				}
			}
		}
		assert_int_equal(fo_hash_split_from_percent(me, 50), 128);
		assert_int_equal(fo_hash_split_from_percent(me, 1000),
				 fo_hash_split_from_percent(me, 100));
	}
	assert_int_equal(fo_hash_split_from_percent(FO_ROLE_PRIMARY, 0), 0);
	assert_int_equal(fo_hash_split_from_percent(FO_ROLE_PRIMARY, 100), 256);
	assert_int_equal(fo_hash_split_from_percent(FO_ROLE_SECONDARY, 0), 256);
	assert_int_equal(fo_hash_split_from_percent(FO_ROLE_SECONDARY, 100), 0);
	assert_int_equal(fo_hash_split_from_percent(FO_ROLE_PRIMARY, 70), 179);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isc_vectors),
		cmocka_unit_test(test_lab_clients),
		cmocka_unit_test(test_reference_table),
		cmocka_unit_test(test_split_vectors),
		cmocka_unit_test(test_hba_layout),
		cmocka_unit_test(test_max_seconds),
		cmocka_unit_test(test_key_choice),
		cmocka_unit_test(test_partner_wants),
		cmocka_unit_test(test_distribution),
		cmocka_unit_test(test_percent_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
