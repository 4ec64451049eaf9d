"""Teaching content: the guided tour, the glossary, the geometry reference tables, the
register and descriptor decoder, the Linux/KVM facts beside a walk and the KVM configuration
matrix. It explains the architecture core; it never decides a walk."""
