--
-- PostgreSQL database dump (plain format), cut off in the middle of a statement: what a
-- backup job that ran out of disk leaves behind.
--

SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

CREATE TABLE public.clients (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    name text NOT N
