/* A switch-heavy state machine: a small lexer (identifiers, decimal and hex numbers, strings
 * with escapes, operators) run over the data area. Returns tokens seen * 8 + the final state.
 * eBPF has no jump tables, so clang lowers the switches to compare chains there. */
#ifndef USERBPF_BENCH_SUITE_STATE_MACHINE_H
#define USERBPF_BENCH_SUITE_STATE_MACHINE_H

#include "suite_env.h"

enum suite_lex_state {
  SUITE_LEX_SPACE,
  SUITE_LEX_IDENT,
  SUITE_LEX_DECIMAL,
  SUITE_LEX_ZERO,
  SUITE_LEX_HEX,
  SUITE_LEX_STRING,
  SUITE_LEX_ESCAPE,
  SUITE_LEX_OPERATOR,
};

enum suite_lex_class { SUITE_C_LETTER, SUITE_C_DIGIT, SUITE_C_QUOTE, SUITE_C_OP, SUITE_C_OTHER };

SUITE_INLINE enum suite_lex_class suite_lex_class_of(__u8 c) {
  switch (c >> 5) {
    case 1: /* 0x20..0x3f: punctuation and digits */
      if (c >= '0' && c <= '9') return SUITE_C_DIGIT;
      if (c == '"') return SUITE_C_QUOTE;
      if (c == '+' || c == '-' || c == '*' || c == '/' || c == '<' || c == '=' || c == '>')
        return SUITE_C_OP;
      return SUITE_C_OTHER;
    case 2: /* 0x40..0x5f */
    case 3: /* 0x60..0x7f */
      if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return SUITE_C_LETTER;
      if (c == '_') return SUITE_C_LETTER;
      if (c == '\\') return SUITE_C_OP;
      return SUITE_C_OTHER;
    default: return SUITE_C_OTHER;
  }
}

/* One step of the lexer: the state after byte `c`; a finished token counts in *tokens. */
SUITE_INLINE __u32 suite_lex_next(__u32 state, __u8 c, __u32* tokens) {
  const enum suite_lex_class cls = suite_lex_class_of(c);
  switch (state) {
    case SUITE_LEX_SPACE:
      switch (cls) {
        case SUITE_C_LETTER: state = SUITE_LEX_IDENT; break;
        case SUITE_C_DIGIT: state = c == '0' ? SUITE_LEX_ZERO : SUITE_LEX_DECIMAL; break;
        case SUITE_C_QUOTE: state = SUITE_LEX_STRING; break;
        case SUITE_C_OP: state = SUITE_LEX_OPERATOR; break;
        default: break;
      }
      break;
    case SUITE_LEX_IDENT:
      if (cls != SUITE_C_LETTER && cls != SUITE_C_DIGIT) {
        (*tokens)++;
        state = SUITE_LEX_SPACE;
      }
      break;
    case SUITE_LEX_ZERO:
      if ((c | 0x20) == 'x') {
        state = SUITE_LEX_HEX;
        break;
      }
      /* fall through */
    case SUITE_LEX_DECIMAL:
      if (cls != SUITE_C_DIGIT) {
        (*tokens)++;
        state = cls == SUITE_C_OP ? SUITE_LEX_OPERATOR : SUITE_LEX_SPACE;
      }
      break;
    case SUITE_LEX_HEX:
      if (cls != SUITE_C_DIGIT && !((c | 0x20) >= 'a' && (c | 0x20) <= 'f')) {
        (*tokens)++;
        state = SUITE_LEX_SPACE;
      }
      break;
    case SUITE_LEX_STRING:
      switch (c) {
        case '"':
          (*tokens)++;
          state = SUITE_LEX_SPACE;
          break;
        case '\\': state = SUITE_LEX_ESCAPE; break;
        case '\n':
          state = SUITE_LEX_SPACE; /* unterminated */
          break;
        default: break;
      }
      break;
    case SUITE_LEX_ESCAPE: state = SUITE_LEX_STRING; break;
    case SUITE_LEX_OPERATOR:
      (*tokens)++;
      switch (cls) {
        case SUITE_C_OP: break; /* another operator */
        case SUITE_C_LETTER: state = SUITE_LEX_IDENT; break;
        case SUITE_C_DIGIT: state = SUITE_LEX_DECIMAL; break;
        case SUITE_C_QUOTE: state = SUITE_LEX_STRING; break;
        default: state = SUITE_LEX_SPACE; break;
      }
      break;
    default: state = SUITE_LEX_SPACE; break;
  }
  return state;
}

/* The walk over the data area runs through bpf_loop: with the state in a register, the verifier
 * would follow every (byte index, state) pair of an unrolled loop, past its 1M-instruction limit
 * (measured: Linux 6.18 refuses the bounded-loop form). */
struct suite_lex {
  const __u8* area;
  const __u8* end;
  __u32 state;
  __u32 tokens;
};

static long suite_lex_step(__u32 index, void* ctx) {
  struct suite_lex* lex = ctx;
  const __u8* p = lex->area + (index & (SUITE_DATA_BYTES - 1));
  if (p + 1 > lex->end) return 1;
  lex->state = suite_lex_next(lex->state, *p, &lex->tokens);
  return 0;
}

SUITE_INLINE __u32 suite_state_machine(const __u8* data, const __u8* end) {
  struct suite_lex lex = {data + SUITE_OFF_DATA, end, SUITE_LEX_SPACE, 0};
  SUITE_LOOP(SUITE_DATA_BYTES, suite_lex_step, &lex);
  return lex.tokens * 8 + lex.state;
}

#endif
