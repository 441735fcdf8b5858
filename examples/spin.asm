# Never ends on its own: a checked run stops it at the instruction budget.
        mov %r0, 0
again:
        add %r0, 1
        ja again
