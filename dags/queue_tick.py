"""The central queue's scheduled work every 5 minutes: days off, no-shows, afternoon web places, reminders."""

from delayhub_airflow.factory import core_dag

queue_tick = core_dag(
    "queue_tick", "*/5 * * * *",
    "### ระบบการจองคิวกลาง · งานตามรอบ\n\n"
    "ทุก 5 นาที: ปิดคิวในวันที่กลายเป็นวันหยุด (มติคณะรัฐมนตรีหรือหน่วยงานปิดทำการ) พร้อมแจ้ง SMS ให้จองใหม่ · "
    "ปล่อยคิวจองทางเว็บและมือถือที่ไม่มายืนยันตัวภายในเวลาผ่อนผัน · ส่งที่ว่างทางเว็บช่วงบ่ายให้ผู้มาติดต่อที่หน่วยงาน · "
    "ส่ง SMS เตือนนัดในวันทำการก่อนวันนัด · ลบรหัสยืนยันที่หมดอายุออกจากข้อความ SMS\n\n"
    "Every 5 minutes: closes bookings on days that became days off (and texts each person a link to book "
    "again), releases web and mobile bookings not checked in within the grace period, hands this afternoon's "
    "unused web places to walk-ins, queues the reminders due the working day before, and scrubs expired "
    "one-time codes. Each step is safe to run twice; a broken `data/queue/*.yaml` skips its agency only.\n\n"
    "ตรวจสอบ · check: `python -m delayhub.queueing validate` · "
    "run by hand: `python -m delayhub.queueing tick`",
    "run_queue_tick", tags=("queue",),
)
