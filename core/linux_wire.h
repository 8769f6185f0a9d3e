/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What arrives on the Linux port (linux_port, UDP 6666 by Red Hat's
 * convention), decoded without trusting any of it:
 *
 * - Red Hat's netdump protocol, spoken by RHEL 3/4-era kernels
 *   (drivers/net/netdump.c and netdump.h of the RHEL 4 kernel). The
 *   server drives: it sends 24-byte requests (64-bit magic, then nr,
 *   command, from, to, all big-endian) and the client answers each with a
 *   reply: a 13-byte header (a version byte, then nr, code and info,
 *   big-endian) and up to 1024 payload bytes. Only the crash announcement
 *   (REPLY_START_NETDUMP) comes unasked.
 * - netlog, the console stream of those kernels: replies with code
 *   REPLY_LOG whose info is the chunk's offset in the client's console.
 * - mainline netconsole (Documentation/networking/netconsole.rst): plain
 *   printk text, or the extended form "<level>,<seq>,<timestamp>,<flag>
 *   [,key=value...];<text>" with an optional kernel release in front and
 *   "ncfrag=<offset>/<total>" on the fragments of a long message.
 *
 * The first byte tells them apart: a netdump version byte is a control
 * character no console line starts with.
 */
#ifndef ND_LINUX_WIRE_H
#define ND_LINUX_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LX_REQUEST_SIZE		24	/* NETDUMP_REQ_SIZE */
#define LX_REPLY_HEADER		13	/* HEADER_LEN */
#define LX_REPLY_MAX_PAYLOAD	1024	/* send_netdump_msg's limit */
#define LX_LOG_MAX_PAYLOAD	1447	/* RHEL 3 netlog: 1460 - 13 */
#define LX_MEM_CHUNK		1024	/* REPLY_MEM data per datagram */
#define LX_VERSION		5	/* NETDUMP_VERSION_MAX, the server's */
#define LX_EXT_MAX_MESSAGE	65536	/* ncfrag totals above are refused */

/* Server to client (req_t.command). */
enum lx_command {
	LX_COMM_NONE = 0,
	LX_COMM_SEND_MEM = 1,		/* from: the page frame number */
	LX_COMM_EXIT = 2,
	LX_COMM_REBOOT = 3,		/* no reply: the client reboots */
	LX_COMM_HELLO = 4,
	LX_COMM_GET_NR_PAGES = 5,
	LX_COMM_GET_PAGE_SIZE = 6,
	LX_COMM_START_NETDUMP_ACK = 7,	/* from: the server's version */
	LX_COMM_GET_REGS = 8,
	LX_COMM_SHOW_STATE = 9,
};

/* Client to server (reply_t.code). */
enum lx_reply_code {
	LX_REPLY_NONE = 0,
	LX_REPLY_ERROR = 1,		/* info: the unknown command */
	LX_REPLY_LOG = 2,		/* info: offset in the console */
	LX_REPLY_MEM = 3,		/* info: offset in the page */
	LX_REPLY_RESERVED = 4,		/* info: the next page that is RAM */
	LX_REPLY_HELLO = 5,
	LX_REPLY_NR_PAGES = 6,		/* info: highest page frame + 1 */
	LX_REPLY_PAGE_SIZE = 7,		/* info: the page size */
	LX_REPLY_START_NETDUMP = 8,	/* nr: ELF machine; info: version */
	LX_REPLY_END_NETDUMP = 9,
	LX_REPLY_REGS = 10,		/* info: RAM pages; payload: regs */
	LX_REPLY_MAGIC = 11,		/* defined, never sent by Red Hat */
	LX_REPLY_SHOW_STATE = 12,
};
#define LX_REPLY_NCODES		(LX_REPLY_SHOW_STATE + 1)

enum lx_kind {
	LX_EMPTY = 0,		/* a datagram without a byte */
	LX_NETDUMP,		/* a netdump or netlog reply (maybe bad) */
	LX_NETCONSOLE,		/* console text as it is */
	LX_NETCONSOLE_EXT,	/* extended netconsole, header valid */
};

struct lx_reply {
	uint8_t		 version;
	uint32_t	 nr;
	uint32_t	 code;		/* enum lx_reply_code */
	uint32_t	 info;
	const uint8_t	*payload;	/* points into the datagram */
	size_t		 len;
};

enum lx_decode_result {
	LX_DECODE_OK = 0,
	LX_DECODE_RUNT,		/* shorter than the 13-byte header */
	LX_DECODE_BAD_VERSION,	/* not a version a client speaks (1-5) */
	LX_DECODE_BAD_CODE,	/* not a reply code */
	LX_DECODE_TOO_LONG,	/* payload over 1024 bytes (log: 1447) */
	LX_DECODE_NRESULTS
};

struct lx_request {
	uint64_t	magic;
	uint32_t	nr;
	uint32_t	command;	/* enum lx_command */
	uint32_t	from;
	uint32_t	to;
};

/* What the crash announcement's text says; absent fields stay 0/false. */
struct lx_start {
	uint64_t	task;		/* task_struct:0x... */
	uint64_t	page_offset;	/* page_offset:0x... */
	uint64_t	magic;		/* netdump_magic:0x... */
	bool		has_magic;
};

/* One extended netconsole datagram. */
struct lx_ext {
	const char	*release;	/* NULL unless the 'r' feature is on */
	size_t		 release_len;
	unsigned	 level;		/* facility << 3 | priority */
	uint64_t	 seq;
	uint64_t	 usec;		/* since boot */
	char		 flag;		/* '-', 'c' or '+' */
	bool		 fragment;	/* ncfrag= was present */
	uint32_t	 frag_offset;
	uint32_t	 frag_total;
	const uint8_t	*text;		/* after the ';', into the datagram */
	size_t		 text_len;
};

enum lx_kind	lx_classify(const uint8_t *, size_t);
enum lx_decode_result lx_reply_decode(const uint8_t *, size_t,
		    struct lx_reply *);
const char	*lx_decode_result_str(enum lx_decode_result);
const char	*lx_reply_code_str(uint32_t);
const char	*lx_command_str(uint32_t);
void		 lx_request_encode(const struct lx_request *,
		    uint8_t[LX_REQUEST_SIZE]);
int		 lx_request_decode(const uint8_t *, size_t,
		    struct lx_request *);
void		 lx_reply_header(uint8_t[LX_REPLY_HEADER], uint8_t version,
		    uint32_t nr, uint32_t code, uint32_t info);
int		 lx_start_parse(const uint8_t *, size_t, struct lx_start *);
int		 lx_ext_parse(const uint8_t *, size_t, struct lx_ext *);

#endif /* ND_LINUX_WIRE_H */
