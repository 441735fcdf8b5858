# Upper-cases the ASCII letters of a packet in place: r1 = packet, r2 = its length.
# r0 = how many bytes changed. `prog run ... data_out -` shows the packet afterwards.
        mov %r0, 0
loop:
        jeq %r2, 0, done
        ldxb %r3, [%r1]
        jlt %r3, 0x61, skip     # below 'a'
        jgt %r3, 0x7a, skip     # above 'z'
        sub %r3, 0x20
        stxb [%r1], %r3
        add %r0, 1
skip:
        add %r1, 1
        sub %r2, 1
        ja loop
done:
        exit
