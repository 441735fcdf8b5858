# Counts the primes below a limit, by trial division.
# Input: the limit as a little-endian u32 at the start of the data (r1 = data, r2 = its length).
# Output: r0 = how many primes are below the limit (25 below 100, 168 below 1000).
        ldxw %r1, [%r1]         # r1 = limit
        mov %r7, 0              # r7 = primes found
        mov %r6, 2              # r6 = candidate
next:
        jge %r6, %r1, done
        mov %r8, 2              # r8 = divisor
try:
        mov %r9, %r8
        mul %r9, %r8
        jgt %r9, %r6, prime     # divisor^2 > candidate: no divisor left
        mov %r9, %r6
        mod %r9, %r8
        jeq %r9, 0, composite
        add %r8, 1
        ja try
prime:
        add %r7, 1
composite:
        add %r6, 1
        ja next
done:
        mov %r0, %r7
        exit
